//! Python/C `fopen` mode strings (`"r"`, `"w+"`, `"ab"`, ...) as [`OpenOptions`].

use std::io;

use super::OpenOptions;

/// Parses an `aiofiles.open` / Python `open` / C `fopen` mode: one of `r`, `w`, `a`, `x`,
/// optionally `+`, and optionally `b` or `t` (accepted and ignored: text or binary is chosen by
/// the method you call, `read_to_string`/`lines` or `read`/`read_to_end`).
pub(super) fn parse(mode: &str) -> io::Result<OpenOptions> {
    let invalid = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid open mode {mode:?}: use one of r, w, a, x, optionally followed by + \
                 (read and write) and b or t (ignored), e.g. \"r\", \"w+\", \"ab\""
            ),
        )
    };
    let mut base = None;
    let (mut plus, mut bt) = (false, false);
    for c in mode.chars() {
        match c {
            'r' | 'w' | 'a' | 'x' if base.is_none() => base = Some(c),
            '+' if !plus => plus = true,
            'b' | 't' if !bt => bt = true,
            _ => return Err(invalid()),
        }
    }
    let mut o = OpenOptions::new();
    match base.ok_or_else(invalid)? {
        'r' => o.read(true),
        'w' => o.write(true).create(true).truncate(true),
        'a' => o.append(true).create(true),
        _ => o.write(true).create_new(true), // 'x'
    };
    if plus {
        o.read(true).write(true);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn modes_parse_and_invalid_ones_say_what_is_valid() {
        for ok in [
            "r", "rb", "rt", "r+", "rb+", "r+b", "w", "wb", "w+", "a", "ab", "a+", "x", "x+b",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "+", "b", "rw", "rr", "r++", "q", "rbt"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("use one of r, w, a, x"), "{e}");
        }
    }
}
