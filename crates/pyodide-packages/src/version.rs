//! PEP 440 versions and version specifiers, enough to pick a wheel from an
//! index: epochs, release segments, pre-, post- and dev-releases, local
//! labels, and the operators `==` (with `.*`), `!=` (with `.*`), `>=`, `<=`,
//! `<`, `>`, `~=` and `===`.

use std::cmp::Ordering;
use std::fmt;

/// Why a version or specifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// Not a PEP 440 version.
    #[error("invalid version \"{0}\"")]
    Version(String),
    /// Not a PEP 440 version specifier.
    #[error("invalid version specifier \"{specifier}\": {reason}")]
    Specifier {
        /// The specifier as written.
        specifier: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Pre-release kinds in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    Alpha,
    Beta,
    Rc,
}

/// A PEP 440 version.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(Pre, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Option<String>,
}

/// Splits leading ASCII digits off `s`.
fn digits(s: &str) -> (Option<u64>, &str) {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        (None, s)
    } else {
        (s[..end].parse().ok(), &s[end..])
    }
}

/// Strips one optional separator (`.`, `-`, `_`).
fn separator(s: &str) -> &str {
    s.strip_prefix(['.', '-', '_']).unwrap_or(s)
}

impl Version {
    /// Parses a version in any of PEP 440's accepted spellings.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let bad = || VersionError::Version(text.to_owned());
        let lower = text.trim().to_ascii_lowercase();
        let mut s = lower.strip_prefix('v').unwrap_or(&lower);
        let (local, rest) = match s.split_once('+') {
            Some((head, local)) => {
                if local.is_empty()
                    || !local.split(['.', '-', '_']).all(|part| {
                        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric())
                    })
                {
                    return Err(bad());
                }
                (Some(local.replace(['-', '_'], ".")), head)
            }
            None => (None, s),
        };
        s = rest;
        let mut epoch = 0;
        if let Some((e, tail)) = s.split_once('!') {
            epoch = e.parse().map_err(|_| bad())?;
            s = tail;
        }
        let mut release = Vec::new();
        loop {
            let (n, tail) = digits(s);
            release.push(n.ok_or_else(bad)?);
            s = tail;
            match s.strip_prefix('.') {
                Some(tail) if tail.starts_with(|c: char| c.is_ascii_digit()) => s = tail,
                _ => break,
            }
        }
        let mut pre = None;
        let after = separator(s);
        for (spelling, kind) in [
            ("alpha", Pre::Alpha),
            ("beta", Pre::Beta),
            ("preview", Pre::Rc),
            ("pre", Pre::Rc),
            ("rc", Pre::Rc),
            ("a", Pre::Alpha),
            ("b", Pre::Beta),
            ("c", Pre::Rc),
        ] {
            if let Some(tail) = after.strip_prefix(spelling) {
                let (n, numbered) = digits(separator(tail));
                pre = Some((kind, n.unwrap_or(0)));
                s = if n.is_some() { numbered } else { tail };
                break;
            }
        }
        let mut post = None;
        if let Some(tail) = s
            .strip_prefix('-')
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        {
            let (n, tail) = digits(tail);
            post = n;
            s = tail;
        } else {
            let after = separator(s);
            for spelling in ["post", "rev", "r"] {
                if let Some(tail) = after.strip_prefix(spelling) {
                    let (n, tail) = digits(separator(tail));
                    post = Some(n.unwrap_or(0));
                    s = if n.is_some() {
                        tail
                    } else {
                        &after[spelling.len()..]
                    };
                    break;
                }
            }
        }
        let mut dev = None;
        let after = separator(s);
        if let Some(tail) = after.strip_prefix("dev") {
            let (n, tail) = digits(separator(tail));
            dev = Some(n.unwrap_or(0));
            s = if n.is_some() { tail } else { &after[3..] };
        }
        if !s.is_empty() {
            return Err(bad());
        }
        Ok(Version {
            text: text.trim().to_owned(),
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// The release segments, e.g. `[1, 26, 4]`.
    pub fn release(&self) -> &[u64] {
        &self.release
    }

    /// Whether this is a pre- or dev-release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The same version without its local label.
    fn public(&self) -> Version {
        Version {
            local: None,
            ..self.clone()
        }
    }

    /// The sort key after the release: (pre, post, dev) with PEP 440's rules.
    fn suffix_key(&self) -> (i8, Pre, u64, i8, u64, i8, u64) {
        let (pre_rank, pre_kind, pre_n) = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, Pre::Alpha, 0),
            (None, _, _) => (1, Pre::Alpha, 0),
            (Some((kind, n)), _, _) => (0, kind, n),
        };
        let (post_rank, post_n) = match self.post {
            None => (-1, 0),
            Some(n) => (0, n),
        };
        let (dev_rank, dev_n) = match self.dev {
            None => (1, 0),
            Some(n) => (0, n),
        };
        (
            pre_rank, pre_kind, pre_n, post_rank, post_n, dev_rank, dev_n,
        )
    }
}

fn compare_release(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    (0..len)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_release(&self.release, &other.release))
            .then_with(|| self.suffix_key().cmp(&other.suffix_key()))
            .then_with(|| match (&self.local, &other.local) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A comparison operator of a specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operator {
    /// `==` (with `wildcard`, `==1.2.*`).
    Equal,
    /// `!=` (with `wildcard`, `!=1.2.*`).
    NotEqual,
    /// `>=`.
    GreaterEqual,
    /// `<=`.
    LessEqual,
    /// `>`.
    Greater,
    /// `<`.
    Less,
    /// `~=`, the compatible release.
    Compatible,
    /// `===`, string equality.
    Arbitrary,
}

/// One clause, e.g. `>=1.2`.
#[derive(Debug, Clone)]
pub struct Specifier {
    operator: Operator,
    version: Version,
    /// The text after the operator, for `===` and messages.
    text: String,
    wildcard: bool,
}

impl Specifier {
    /// Parses one clause like `>=1.2` or `==1.4.*`.
    pub fn parse(text: &str) -> Result<Specifier, VersionError> {
        let text = text.trim();
        let bad = |reason| VersionError::Specifier {
            specifier: text.to_owned(),
            reason,
        };
        let (operator, rest) = [
            ("===", Operator::Arbitrary),
            ("~=", Operator::Compatible),
            ("==", Operator::Equal),
            ("!=", Operator::NotEqual),
            (">=", Operator::GreaterEqual),
            ("<=", Operator::LessEqual),
            (">", Operator::Greater),
            ("<", Operator::Less),
        ]
        .into_iter()
        .find_map(|(spelling, op)| text.strip_prefix(spelling).map(|rest| (op, rest.trim())))
        .ok_or_else(|| bad("no operator (==, !=, >=, <=, >, <, ~=)"))?;
        if rest.is_empty() {
            return Err(bad("no version after the operator"));
        }
        let (version_text, wildcard) = match rest.strip_suffix(".*") {
            Some(head) => (head, true),
            None => (rest, false),
        };
        if wildcard && !matches!(operator, Operator::Equal | Operator::NotEqual) {
            return Err(bad("\".*\" is only allowed with == and !="));
        }
        let version = if operator == Operator::Arbitrary {
            Version::parse(rest).unwrap_or_else(|_| Version {
                text: rest.to_owned(),
                epoch: 0,
                release: vec![0],
                pre: None,
                post: None,
                dev: None,
                local: None,
            })
        } else {
            Version::parse(version_text).map_err(|_| bad("not a PEP 440 version"))?
        };
        if operator == Operator::Compatible && version.release.len() < 2 {
            return Err(bad("~= needs at least two release segments"));
        }
        Ok(Specifier {
            operator,
            version,
            text: rest.to_owned(),
            wildcard,
        })
    }

    /// Whether `candidate` satisfies this clause.
    pub fn contains(&self, candidate: &Version) -> bool {
        let v = &self.version;
        match self.operator {
            Operator::Equal | Operator::NotEqual => {
                let equal = if self.wildcard {
                    candidate.epoch == v.epoch
                        && (0..v.release.len())
                            .all(|i| candidate.release.get(i).copied().unwrap_or(0) == v.release[i])
                } else if v.local.is_none() {
                    candidate.public() == *v
                } else {
                    candidate == v
                };
                equal == (self.operator == Operator::Equal)
            }
            Operator::GreaterEqual => candidate.public() >= *v,
            Operator::LessEqual => candidate.public() <= *v,
            Operator::Greater => {
                candidate.public() > *v
                    // `>1.7` excludes 1.7.post1 unless the specifier is a post-release.
                    && !(v.post.is_none()
                        && candidate.post.is_some()
                        && compare_release(&candidate.release, &v.release).is_eq()
                        && candidate.pre.is_none())
            }
            Operator::Less => {
                candidate.public() < *v
                    // `<1.7` excludes 1.7 pre-releases unless the specifier is one.
                    && !(!v.is_prerelease()
                        && candidate.is_prerelease()
                        && compare_release(&candidate.release, &v.release).is_eq())
            }
            Operator::Compatible => {
                let prefix = &v.release[..v.release.len() - 1];
                candidate.public() >= *v
                    && candidate.epoch == v.epoch
                    && (0..prefix.len())
                        .all(|i| candidate.release.get(i).copied().unwrap_or(0) == prefix[i])
            }
            Operator::Arbitrary => candidate.text.eq_ignore_ascii_case(&self.text),
        }
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::GreaterEqual => ">=",
            Operator::LessEqual => "<=",
            Operator::Greater => ">",
            Operator::Less => "<",
            Operator::Compatible => "~=",
            Operator::Arbitrary => "===",
        };
        write!(f, "{op}{}", self.text)
    }
}

/// Comma-separated clauses, all of which must hold; empty means any version.
#[derive(Debug, Clone, Default)]
pub struct SpecifierSet {
    specifiers: Vec<Specifier>,
}

impl SpecifierSet {
    /// Parses `>=1.0, <2` (empty text gives the set that allows everything).
    pub fn parse(text: &str) -> Result<SpecifierSet, VersionError> {
        let specifiers = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Specifier::parse)
            .collect::<Result<_, _>>()?;
        Ok(SpecifierSet { specifiers })
    }

    /// Whether the set has no clause.
    pub fn is_empty(&self) -> bool {
        self.specifiers.is_empty()
    }

    /// Whether `candidate` satisfies every clause. Pre-releases are allowed
    /// only when a clause names one (PEP 440's default).
    pub fn contains(&self, candidate: &Version) -> bool {
        if candidate.is_prerelease() && !self.specifiers.iter().any(|s| s.version.is_prerelease()) {
            return false;
        }
        self.contains_prerelease(candidate)
    }

    /// Whether `candidate` satisfies every clause, pre-release or not: for a
    /// version that is the only one on offer (a lock file's, an installed
    /// one, one already chosen).
    pub fn contains_prerelease(&self, candidate: &Version) -> bool {
        self.specifiers.iter().all(|s| s.contains(candidate))
    }
}

impl fmt::Display for SpecifierSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.specifiers.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn allows(set: &str, version: &str) -> bool {
        SpecifierSet::parse(set).unwrap().contains(&v(version))
    }

    #[test]
    fn versions_order_as_pep_440_says() {
        let ordered = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.1.dev1",
            "1.1",
            "1!0.5",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert_eq!(v("1.0RC1"), v("1.0rc1"));
        assert_eq!(v("v2.0"), v("2.0"));
        assert_eq!(v("1.0alpha"), v("1.0a0"));
        for bad in ["", "1.", "abc", "1.0+", "1..0", "1.0x"] {
            assert!(Version::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn specifiers_select_versions() {
        assert!(allows("==1.2.4", "1.2.4"));
        assert!(allows("==1.2.4", "1.2.4+local"));
        assert!(!allows("==1.2.4", "1.2.5"));
        assert!(allows("==1.2.*", "1.2.9"));
        assert!(!allows("==1.2.*", "1.3"));
        assert!(allows("!=1.2.*", "1.3"));
        assert!(allows(">=1.0,<2", "1.9.9"));
        assert!(!allows(">=1.0,<2", "2.0"));
        assert!(!allows(">=1.0,<2", "0.9"));
        assert!(allows("<=2.0", "2.0"));
        assert!(allows(">1.7", "1.7.1"));
        assert!(!allows(">1.7", "1.7.post1"));
        assert!(!allows("<2.0", "2.0rc1"));
        assert!(!allows(">=1.0", "3.0rc1"), "no pre-releases by default");
        assert!(allows(">=3.0rc1", "3.0rc2"));
        let set = SpecifierSet::parse(">=1.0").unwrap();
        assert!(set.contains_prerelease(&v("3.0rc1")));
        assert!(!set.contains_prerelease(&v("0.9rc1")));
        assert!(allows("~=2.2", "2.9"));
        assert!(!allows("~=2.2", "3.0"));
        assert!(allows("~=1.4.5", "1.4.9"));
        assert!(!allows("~=1.4.5", "1.5.0"));
        assert!(allows("!=1.5", "1.6"));
        assert!(!allows("!=1.5", "1.5.0"));
        assert!(allows("===1.0", "1.0"));
        assert!(allows("", "0.1"));
        for bad in ["1.0", "=>1.0", ">=", "~=1", ">=1.*", "==x"] {
            assert!(SpecifierSet::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            SpecifierSet::parse("~=1").unwrap_err().to_string(),
            "invalid version specifier \"~=1\": ~= needs at least two release segments"
        );
    }
}
