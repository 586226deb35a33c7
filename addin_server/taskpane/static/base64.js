// @ts-check
// Raw base64 of binary data, as Office wants pictures (no data: prefix). Chunked: spreading a whole
// picture into String.fromCharCode overflows the call stack.
/** @param {ArrayBuffer} buffer */
export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
