import { router } from "../lib/api";

export const entitiesApp = router();
