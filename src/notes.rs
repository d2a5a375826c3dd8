//! Notes: the readable problems found while scanning a project (stale records, unreadable or
//! special files, malformed settings...). Every path that records one goes through [`push`],
//! so a hostile tree cannot grow a project's notes (kept in every project row and parsed by
//! every project list) without bound.

use crate::frontmatter::truncate_chars;

/// Most notes kept per project; past it one last note says how many more were found.
pub const MAX_NOTES: usize = 200;
/// Longest note kept, in characters (longer ones are cut with `…`).
pub const MAX_NOTE_CHARS: usize = 500;

/// Appends `note` unless the list is full; the note that fills the list says the rest were
/// left out.
pub fn push(notes: &mut Vec<String>, note: String) {
    match notes.len() {
        n if n + 1 < MAX_NOTES => notes.push(truncate_chars(&note, MAX_NOTE_CHARS)),
        n if n + 1 == MAX_NOTES => {
            notes.push("more problems were found; only the first ones are listed".into())
        }
        _ => {}
    }
}

/// Moves every note of `more` into `notes`, through [`push`].
pub fn append(notes: &mut Vec<String>, more: &mut Vec<String>) {
    for n in more.drain(..) {
        push(notes, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_in_count_and_length() {
        let mut notes = Vec::new();
        for i in 0..1000 {
            push(&mut notes, format!("note {i} {}", "x".repeat(2000)));
        }
        assert_eq!(notes.len(), 200);
        assert!(notes[..199].iter().all(|n| n.chars().count() <= 501));
        assert!(notes[0].starts_with("note 0 "));
        assert!(notes[198].starts_with("note 198 "));
        assert_eq!(
            notes[199],
            "more problems were found; only the first ones are listed"
        );
    }
}
