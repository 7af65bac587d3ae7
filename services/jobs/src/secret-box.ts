/**
 * Encryption of secret values at rest: AES-256-GCM, a random 96-bit nonce per value, the key in the data dir
 * (`<data>/secrets/jobs-secrets.key`, 0600, made on first use). Every value is sealed with associated data naming
 * its place — a team secret's team/name/key, or a job's uid and variable — so a ciphertext copied to another row or
 * another job does not open. A sealed value is `v1:<base64 of nonce ‖ ciphertext ‖ tag>`.
 *
 * What this protects: the database file and its backups, and every answer the platform gives (they never hold a
 * value). What it does not: whoever can read the data dir has the key too, and a job's own processes see its values.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Code, SwitchyardError, keyPath, loadOrCreateKey } from "@switchyard/core";

export interface SecretBox {
  /** `plaintext` encrypted and bound to `aad`: `v1:<base64>`. */
  seal(plaintext: string, aad: string): string;
  /** The plaintext of a value sealed with the same `aad`; throws DATA_LOSS when it was changed, moved or sealed with another key. */
  open(ciphertext: string, aad: string): string;
}

/** The key file's name in `<data>/secrets/`. */
export const SECRET_BOX_KEY = "jobs-secrets";

const VERSION = "v1:";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A box over a 256-bit key (tests and composition roots that hold the key themselves). */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) throw new SwitchyardError(Code.FailedPrecondition, `the secrets key must be ${KEY_BYTES} bytes, not ${key.length}`);
  const k = Buffer.from(key);
  const unreadable = (why: string) =>
    new SwitchyardError(
      Code.DataLoss,
      `a stored secret value cannot be decrypted (${why}): it was changed or moved, or ${SECRET_BOX_KEY}.key in the data dir's secrets/ was replaced. ` +
        "Write the secret again with `switchyard secrets create`, or resubmit the job",
    );
  return {
    seal(plaintext, aad) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", k, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(aad, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return VERSION + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64");
    },
    open(ciphertext, aad) {
      if (!ciphertext.startsWith(VERSION)) throw unreadable("unknown format");
      const raw = Buffer.from(ciphertext.slice(VERSION.length), "base64");
      if (raw.length < NONCE_BYTES + TAG_BYTES) throw unreadable("too short");
      const decipher = createDecipheriv("aes-256-gcm", k, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch {
        throw unreadable("authentication failed");
      }
    },
  };
}

/** The box over the data dir's key (`<data>/secrets/jobs-secrets.key`, created 0600 when missing). */
export function openSecretBox(dataDir: string): SecretBox {
  return createSecretBox(loadOrCreateKey(keyPath(dataDir, SECRET_BOX_KEY), KEY_BYTES));
}

/** Associated data of a team secret's value: its team, secret and key. */
export function secretAad(team: string, name: string, key: string): string {
  return `switchyard/secret/${team}/${name}/${key}`;
}

/** Associated data of a job's inline secret: the job's uid and the variable's name. */
export function jobEnvAad(uid: string, envName: string): string {
  return `switchyard/job/${uid}/env/${envName}`;
}
