//! Requirements: PEP 508 strings (`name[extra]>=1.0; python_version < "3.12"`)
//! as found in `requirements.txt` and in a wheel's `Requires-Dist`, and the
//! environment markers evaluated for the Pyodide runtime.

use std::path::Path;

use crate::name::{is_valid, normalize};
use crate::version::{SpecifierSet, Version, VersionError};

/// Why a requirement could not be parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequirementError {
    /// A requirement string is malformed.
    #[error("invalid requirement \"{requirement}\"{location}: {reason}")]
    Invalid {
        /// The requirement as written.
        requirement: String,
        /// ` (file line N)` when it came from a file, else empty.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `requirements.txt` line uses a pip option this parser does not support.
    #[error(
        "unsupported line in \"{file}\" line {line}: \"{text}\" (only names with version specifiers and markers are supported)"
    )]
    Unsupported {
        /// The file.
        file: String,
        /// The 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The file could not be read.
    #[error("cannot read \"{path}\": {source}", path = path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// One requirement.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// The project name as written.
    pub name: String,
    /// Requested extras, normalised.
    pub extras: Vec<String>,
    /// Allowed versions (empty = any).
    pub specifiers: SpecifierSet,
    /// The environment marker after `;`, if any.
    pub marker: Option<Marker>,
}

impl Requirement {
    /// Parses a PEP 508 requirement (URL requirements, `name @ url`, are refused).
    pub fn parse(text: &str) -> Result<Requirement, RequirementError> {
        Self::parse_at(text, String::new())
    }

    fn parse_at(text: &str, location: String) -> Result<Requirement, RequirementError> {
        let invalid = |reason: String| RequirementError::Invalid {
            requirement: text.trim().to_owned(),
            location: location.clone(),
            reason,
        };
        let (head, marker) = match text.split_once(';') {
            Some((head, marker)) => (head, Some(Marker::parse_text(marker).map_err(&invalid)?)),
            None => (text, None),
        };
        let head = head.trim();
        let name_end = head
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(head.len());
        let name = &head[..name_end];
        if !is_valid(name) {
            return Err(invalid("no valid project name at the start".to_owned()));
        }
        let mut rest = head[name_end..].trim_start();
        let mut extras = Vec::new();
        if let Some(tail) = rest.strip_prefix('[') {
            let (list, tail) = tail
                .split_once(']')
                .ok_or_else(|| invalid("unclosed \"[\"".to_owned()))?;
            for extra in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                if !is_valid(extra) {
                    return Err(invalid(format!("invalid extra \"{extra}\"")));
                }
                extras.push(normalize(extra));
            }
            rest = tail.trim_start();
        }
        if rest.starts_with('@') {
            return Err(invalid("URL requirements are not supported".to_owned()));
        }
        let rest = rest
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(rest);
        let specifiers =
            SpecifierSet::parse(rest).map_err(|e: VersionError| invalid(e.to_string()))?;
        Ok(Requirement {
            name: name.to_owned(),
            extras,
            specifiers,
            marker,
        })
    }

    /// The normalised project name.
    pub fn key(&self) -> String {
        normalize(&self.name)
    }

    /// Whether the requirement applies in `env` (no marker: always).
    pub fn applies(&self, env: &MarkerEnv, extras: &[String]) -> bool {
        self.marker.as_ref().is_none_or(|m| m.evaluate(env, extras))
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if !self.extras.is_empty() {
            write!(f, "[{}]", self.extras.join(","))?;
        }
        write!(f, "{}", self.specifiers)
    }
}

/// Parses the text of a `requirements.txt`: one requirement per line;
/// blank lines and `#` comments are skipped, `\` continues a line. pip
/// options (lines starting with `-`) are refused with the line number.
/// `file` names the file in errors.
pub fn parse_requirements(text: &str, file: &str) -> Result<Vec<Requirement>, RequirementError> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start_line = 0;
    for (index, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            start_line = index + 1;
        }
        let without_comment = match raw.find('#') {
            Some(0) => "",
            Some(i) if raw[..i].ends_with(char::is_whitespace) => &raw[..i],
            _ => raw,
        };
        if let Some(continued) = without_comment.trim_end().strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        pending.push_str(without_comment);
        let line = std::mem::take(&mut pending);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            return Err(RequirementError::Unsupported {
                file: file.to_owned(),
                line: start_line,
                text: line.to_owned(),
            });
        }
        out.push(Requirement::parse_at(
            line,
            format!(" (\"{file}\" line {start_line})"),
        )?);
    }
    Ok(out)
}

/// Reads and parses a `requirements.txt`.
pub fn load_requirements(path: &Path) -> Result<Vec<Requirement>, RequirementError> {
    let text = std::fs::read_to_string(path).map_err(|source| RequirementError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_requirements(&text, &path.display().to_string())
}

/// The values of the environment marker variables for a runtime.
#[derive(Debug, Clone)]
pub struct MarkerEnv {
    /// `python_version`, e.g. `3.14`.
    pub python_version: String,
    /// `python_full_version`, e.g. `3.14.2`.
    pub python_full_version: String,
}

impl MarkerEnv {
    /// The environment of a Pyodide runtime with CPython `python_full_version`.
    pub fn pyodide(python_full_version: &str) -> MarkerEnv {
        let short: Vec<&str> = python_full_version.split('.').take(2).collect();
        MarkerEnv {
            python_version: short.join("."),
            python_full_version: python_full_version.to_owned(),
        }
    }

    fn get(&self, variable: &str) -> Option<&str> {
        Some(match variable {
            "python_version" => &self.python_version,
            "python_full_version" => &self.python_full_version,
            "implementation_version" => &self.python_full_version,
            "sys_platform" => "emscripten",
            "platform_system" => "Emscripten",
            "platform_machine" => "wasm32",
            "os_name" => "posix",
            "implementation_name" => "cpython",
            "platform_python_implementation" => "CPython",
            "platform_release" | "platform_version" => "",
            _ => return None,
        })
    }
}

/// A parsed environment marker.
#[derive(Debug, Clone)]
pub enum Marker {
    /// Both hold.
    And(Box<Marker>, Box<Marker>),
    /// Either holds.
    Or(Box<Marker>, Box<Marker>),
    /// `left op right`, each a variable or a quoted string.
    Compare {
        /// Left operand.
        left: Operand,
        /// The operator (`==`, `in`, `not in`, ...).
        op: String,
        /// Right operand.
        right: Operand,
    },
}

/// One side of a marker comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A marker variable such as `python_version`.
    Variable(String),
    /// A quoted string.
    Literal(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Op(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| "unterminated string in marker".to_owned())?;
            tokens.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if "=!<>~".contains(c) {
            let mut op = String::new();
            while i < chars.len() && "=!<>~".contains(chars[i]) {
                op.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Op(op));
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            let mut word = String::new();
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                word.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Word(word));
        } else {
            return Err(format!("unexpected \"{c}\" in marker"));
        }
    }
    Ok(tokens)
}

struct MarkerParser {
    tokens: Vec<Token>,
    at: usize,
}

impl MarkerParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Marker, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Word("or".to_owned())) {
            self.at += 1;
            left = Marker::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Marker, String> {
        let mut left = self.atom()?;
        while self.peek() == Some(&Token::Word("and".to_owned())) {
            self.at += 1;
            left = Marker::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Marker, String> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.next() != Some(Token::Close) {
                return Err("unclosed \"(\" in marker".to_owned());
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = match self.next() {
            Some(Token::Op(op))
                if ["==", "!=", "<=", ">=", "<", ">", "~=", "==="].contains(&op.as_str()) =>
            {
                op
            }
            Some(Token::Word(w)) if w == "in" => w,
            Some(Token::Word(w)) if w == "not" => match self.next() {
                Some(Token::Word(w)) if w == "in" => "not in".to_owned(),
                _ => return Err("expected \"in\" after \"not\" in marker".to_owned()),
            },
            _ => return Err("expected a comparison operator in marker".to_owned()),
        };
        let right = self.operand()?;
        Ok(Marker::Compare { left, op, right })
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Operand::Literal(s)),
            Some(Token::Word(w)) if w != "and" && w != "or" => Ok(Operand::Variable(w)),
            _ => Err("expected a marker variable or a quoted string".to_owned()),
        }
    }
}

impl Marker {
    /// Parses the text after `;`.
    pub fn parse(text: &str) -> Result<Marker, RequirementError> {
        Marker::parse_text(text).map_err(|reason| RequirementError::Invalid {
            requirement: text.trim().to_owned(),
            location: String::new(),
            reason,
        })
    }

    fn parse_text(text: &str) -> Result<Marker, String> {
        let mut parser = MarkerParser {
            tokens: tokenize(text)?,
            at: 0,
        };
        let marker = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err("unexpected text after the marker".to_owned());
        }
        Ok(marker)
    }

    /// Evaluates the marker; `extra` compares against each of `extras`
    /// (normalised). Unknown variables compare as the empty string.
    pub fn evaluate(&self, env: &MarkerEnv, extras: &[String]) -> bool {
        match self {
            Marker::And(a, b) => a.evaluate(env, extras) && b.evaluate(env, extras),
            Marker::Or(a, b) => a.evaluate(env, extras) || b.evaluate(env, extras),
            Marker::Compare { left, op, right } => {
                let is_extra = |o: &Operand| matches!(o, Operand::Variable(v) if v == "extra");
                if is_extra(left) || is_extra(right) {
                    let other = if is_extra(left) { right } else { left };
                    let Operand::Literal(value) = other else {
                        return false;
                    };
                    let value = normalize(value);
                    let any = extras.contains(&value);
                    return match op.as_str() {
                        "==" => any,
                        "!=" => !any,
                        _ => false,
                    };
                }
                let value = |o: &Operand| match o {
                    Operand::Literal(s) => s.clone(),
                    Operand::Variable(v) => env.get(v).unwrap_or("").to_owned(),
                };
                let (l, r) = (value(left), value(right));
                match op.as_str() {
                    "in" => r.contains(&l),
                    "not in" => !r.contains(&l),
                    _ => match (Version::parse(&l), SpecifierSet::parse(&format!("{op}{r}"))) {
                        (Ok(version), Ok(set)) if op != "===" => set.contains(&version),
                        _ => match op.as_str() {
                            "==" | "===" => l == r,
                            "!=" => l != r,
                            "<" => l < r,
                            "<=" => l <= r,
                            ">" => l > r,
                            ">=" => l >= r,
                            _ => false,
                        },
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> MarkerEnv {
        MarkerEnv::pyodide("3.14.2")
    }

    #[test]
    fn parses_requirements_txt() {
        let text = "# a comment\n\
            pydantic>=2.0,<3  # inline comment\n\
            \n\
            Typing_Extensions\n\
            msgpack == 1.2.4\n\
            attrs[tests] ~= 23.1 ; python_version >= \"3.8\"\n\
            six (>=1.0)\n\
            long-name \\\n  >=1.0\n";
        let reqs = parse_requirements(text, "requirements.txt").unwrap();
        let names: Vec<String> = reqs.iter().map(Requirement::key).collect();
        assert_eq!(
            names,
            [
                "pydantic",
                "typing-extensions",
                "msgpack",
                "attrs",
                "six",
                "long-name"
            ]
        );
        assert_eq!(reqs[0].to_string(), "pydantic>=2.0,<3");
        assert!(reqs[1].specifiers.is_empty());
        assert_eq!(reqs[3].extras, ["tests"]);
        assert!(reqs[3].applies(&env(), &[]));
        assert!(reqs[4].specifiers.contains(&Version::parse("1.5").unwrap()));
        assert!(reqs[5].specifiers.contains(&Version::parse("1.5").unwrap()));

        let err = parse_requirements("ok\n-r other.txt\n", "req.txt").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported line in \"req.txt\" line 2: \"-r other.txt\" (only names with version \
             specifiers and markers are supported)"
        );
        let err = parse_requirements("ok\nnumpy >> 2\n", "req.txt")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid requirement \"numpy >> 2\" (\"req.txt\" line 2)"),
            "{err}"
        );
        assert!(Requirement::parse("pkg @ file:///x").is_err());
        assert!(Requirement::parse(">=1").is_err());
    }

    #[test]
    fn markers_are_evaluated_for_pyodide() {
        let applies = |text: &str, extras: &[&str]| {
            let extras: Vec<String> = extras.iter().map(|e| e.to_string()).collect();
            Requirement::parse(text).unwrap().applies(&env(), &extras)
        };
        assert!(!applies(
            "typing-extensions; python_version < \"3.11\"",
            &[]
        ));
        assert!(applies("typing-extensions; python_version >= \"3.9\"", &[]));
        assert!(applies(
            "x; python_version >= \"3.9\" and sys_platform == \"emscripten\"",
            &[]
        ));
        assert!(!applies(
            "x; sys_platform == \"win32\" or platform_system == \"Darwin\"",
            &[]
        ));
        assert!(!applies("pytest; extra == \"test\"", &[]));
        assert!(applies("pytest; extra == 'Test'", &["test"]));
        assert!(applies(
            "x; (extra == \"a\" or extra == \"b\") and python_version > \"3\"",
            &["b"]
        ));
        assert!(applies("x; \"wasm\" in platform_machine", &[]));
        assert!(applies("x; python_full_version >= \"3.14.1\"", &[]));
        assert!(Requirement::parse("x; python_version >").is_err());
        assert!(Requirement::parse("x; (os_name == \"posix\"").is_err());
    }
}
