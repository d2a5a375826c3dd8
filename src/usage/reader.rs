//! Streaming a transcript from a byte offset, one complete line at a time, in bounded memory.
//!
//! A line is complete when its newline has been written: a half-written last line is left for
//! the next pass (the returned offset stops before it). A line longer than the cap is
//! skipped (reported as [`Line::Overlong`]) without ever holding more than the cap in memory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Bytes read from the file at a time.
pub const CHUNK: usize = 256 * 1024;

/// Longest line kept for parsing; longer lines are skipped and counted.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// One complete line handed to the caller.
#[derive(Debug)]
pub enum Line<'a> {
    /// The line's bytes, without the newline.
    Text(&'a [u8]),
    /// A line longer than the cap (its bytes were dropped).
    Overlong,
}

/// What a pass over a file read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Offset just after the last complete line.
    pub offset: u64,
    /// Offset of the end of what was read (the file's size as this pass saw it).
    pub end: u64,
}

/// Reads `file` from `start` to its end, calling `on_line(line, offset_after_line)` for every
/// complete line. `max_line` caps the memory a single line may take.
pub fn scan_lines<E>(
    file: &mut File,
    start: u64,
    max_line: usize,
    mut on_line: impl FnMut(Line<'_>, u64) -> Result<(), E>,
) -> Result<Scanned, E>
where
    E: From<io::Error>,
{
    file.seek(SeekFrom::Start(start))?;
    let mut buf: Vec<u8> = vec![0; CHUNK.min(max_line.max(1))];
    // `buf[..filled]` holds the bytes from file offset `base`.
    let mut base = start;
    let mut filled = 0usize;
    // Bytes of `buf[..filled]` already searched for a newline.
    let mut searched = 0usize;
    // Inside an over-long line: drop bytes until its newline.
    let mut dropping = false;
    // Offset just after the last complete line handed out.
    let mut consumed = start;
    loop {
        if filled == buf.len() {
            if buf.len() < max_line {
                let grown = (buf.len() * 2).min(max_line);
                buf.resize(grown, 0);
            } else {
                // The current line does not fit: forget it, keep looking for its end.
                dropping = true;
                base += filled as u64;
                filled = 0;
                searched = 0;
            }
        }
        let n = match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        filled += n;
        let mut line_start = 0usize;
        while let Some(i) = memchr::memchr(b'\n', &buf[searched..filled]) {
            let nl = searched + i;
            let after = base + nl as u64 + 1;
            consumed = after;
            if dropping {
                dropping = false;
                on_line(Line::Overlong, after)?;
            } else {
                on_line(Line::Text(&buf[line_start..nl]), after)?;
            }
            line_start = nl + 1;
            searched = line_start;
        }
        searched = filled;
        if line_start > 0 {
            buf.copy_within(line_start..filled, 0);
            filled -= line_start;
            searched -= line_start;
            base += line_start as u64;
            // Shrink back after a long line so memory stays small for the rest of the file.
            if buf.len() > CHUNK && filled <= CHUNK {
                buf.truncate(CHUNK.max(filled));
                buf.shrink_to_fit();
            }
        }
    }
    let end = base + filled as u64;
    Ok(Scanned {
        offset: consumed,
        end,
    })
}
