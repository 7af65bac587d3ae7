/** Job phases in which nothing more will happen. */
export const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);

/** Replica states that mean its processes are gone. */
export const ENDED = new Set(["Succeeded", "Failed", "Terminated", "Lost"]);
