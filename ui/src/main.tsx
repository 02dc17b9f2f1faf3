import { render } from "preact";

function App() {
  return <main>Workflows</main>;
}

render(<App />, document.getElementById("app")!);
