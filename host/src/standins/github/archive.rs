//! A migration's archive: a small tar.gz, the same bytes for the same
//! migration (every timestamp zero, entries in a fixed order), written by
//! hand — ustar headers, deflate's stored blocks, CRC-32 — so the stand-in
//! needs no compression crate.

/// The archive of a migration whose files are `entries` (name, contents).
pub(super) fn tar_gz(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    gzip(&tar(entries))
}

fn tar(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut header = [0u8; 512];
        let mut field =
            |at: usize, value: &[u8]| header[at..at + value.len()].copy_from_slice(value);
        field(0, &name.as_bytes()[..name.len().min(100)]);
        field(100, b"0000644\0");
        field(108, b"0000000\0");
        field(116, b"0000000\0");
        field(124, format!("{:011o}\0", data.len()).as_bytes());
        field(136, b"00000000000\0");
        field(148, b"        ");
        field(156, b"0");
        field(257, b"ustar\0");
        field(263, b"00");
        field(265, b"botyard");
        field(297, b"botyard");
        let sum: u32 = header.iter().map(|&b| b as u32).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    // Header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = chunk.len() as u16;
        out.push(last as u8);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_archive_is_deterministic_and_gzip_framed() {
        let entries = vec![("schema.json".to_string(), b"{}".to_vec())];
        let a = tar_gz(&entries);
        assert_eq!(a, tar_gz(&entries));
        assert_eq!(&a[..3], &[0x1f, 0x8b, 8]);
        // tar: one header, one padded block of data, two zero blocks.
        let size = u32::from_le_bytes(a[a.len() - 4..].try_into().unwrap());
        assert_eq!(size, 512 * 4);
    }
}
