// Saving what the page holds as a file: a Blob behind an object URL and a temporary <a download>, so a download
// carries the token-authenticated data the page fetched (a plain link could not send the bearer token).

/** Offers `blob` to the user as a file called `fileName`. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  // The click starts the download synchronously from the browser's point of view; the URL can go once it has begun.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** "1.2 MB". */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
