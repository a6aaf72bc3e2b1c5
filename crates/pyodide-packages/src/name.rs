//! Project names compared the PEP 503 way: runs of `-`, `_` and `.` are one
//! `-`, and case does not matter (`Pydantic_Core` and `pydantic-core` are the
//! same project).

/// The PEP 503 normal form of a project name: lowercase, with every run of
/// `-`, `_` and `.` replaced by one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// Whether `name` is a valid project name (PEP 508: ASCII letters and digits,
/// with `-`, `_` and `.` inside but not at either end).
pub fn is_valid(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The edit distance between two strings (insertions, deletions and
/// substitutions of characters), for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Up to `limit` names from `candidates` (already normalised) close to the
/// normalised `wanted`: a small edit distance, or one contains the other.
/// Closest first, ties in alphabetical order.
pub(crate) fn suggestions<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    let wanted = normalize(wanted);
    let allowed = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let distance = edit_distance(&wanted, candidate);
            let contains = wanted.len() >= 3
                && (candidate.contains(wanted.as_str()) || wanted.contains(candidate))
                && candidate.len() >= 3;
            if distance <= allowed {
                Some((distance, candidate))
            } else if contains {
                Some((allowed + 1, candidate))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(limit)
        .map(|(_, name)| name.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_as_pep_503_says() {
        assert_eq!(normalize("Pydantic_Core"), "pydantic-core");
        assert_eq!(normalize("friendly-bard"), "friendly-bard");
        assert_eq!(normalize("Friendly.._-Bard"), "friendly-bard");
        assert_eq!(normalize("FRIENDLY_BARD"), "friendly-bard");
        assert_eq!(normalize("zope.interface"), "zope-interface");
    }

    #[test]
    fn validates_names() {
        assert!(is_valid("typing_extensions"));
        assert!(is_valid("a"));
        assert!(!is_valid("-a"));
        assert!(!is_valid("a b"));
        assert!(!is_valid(""));
        assert!(!is_valid("numpy>=1"));
    }

    #[test]
    fn suggests_close_names() {
        let names = ["pydantic", "pydantic-core", "numpy", "pandas"];
        assert_eq!(
            suggestions("pydanitc", names, 3),
            vec!["pydantic".to_owned()]
        );
        assert_eq!(
            suggestions("pydantic_cor", names, 3),
            vec!["pydantic-core".to_owned(), "pydantic".to_owned()]
        );
        assert_eq!(suggestions("nunpy", names, 3), vec!["numpy".to_owned()]);
        assert!(suggestions("zzzzzzzz", names, 3).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
