// Copying tens of MB is not free: a 35 MB Buffer.concat or copy into fresh memory held the
// worker's event loop for ~0.1 s (page faults of the new allocation included). Copied
// here 1 MiB at a time with a turn for other work in between.

const SLICE = 1024 * 1024

/** The concatenation of `parts` in a buffer that owns its whole ArrayBuffer (transferable to a thread). */
export async function concatYielding (parts: Uint8Array[]): Promise<Buffer> {
  const out = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + p.byteLength, 0)) // not pooled, not zero-filled
  let at = 0
  for (const part of parts) {
    for (let i = 0; i < part.byteLength; i += SLICE) {
      const slice = part.subarray(i, i + SLICE)
      out.set(slice, at)
      at += slice.byteLength
      if (out.length > SLICE) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return out
}
