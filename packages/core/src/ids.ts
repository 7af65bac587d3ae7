import { randomBytes, randomUUID } from "node:crypto";

export function newUid(): string {
  return randomUUID();
}

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A Kubernetes-style random suffix (`generateName`): five characters from a vowel-free alphabet. */
export function nameSuffix(length = 5): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}
