import { router } from "../lib/api";

export const plansApp = router();
