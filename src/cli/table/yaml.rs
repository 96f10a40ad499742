//! `-o yaml` of the views: a minimal YAML rendering of JSON, block style, strings quoted as JSON
//! strings (which YAML reads), so no YAML library is needed to print.

use std::fmt::Write as _;

/// A minimal YAML rendering of JSON (`-o yaml`): block style, strings quoted as JSON strings.
pub fn to_yaml(v: &serde_json::Value) -> String {
    fn go(v: &serde_json::Value, indent: usize, out: &mut String) {
        use serde_json::Value as V;
        let pad = " ".repeat(indent);
        match v {
            V::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    match x {
                        V::Object(o) if !o.is_empty() => {
                            let _ = writeln!(out, "{pad}{k}:");
                            go(x, indent + 2, out);
                        }
                        V::Array(a) if !a.is_empty() => {
                            let _ = writeln!(out, "{pad}{k}:");
                            go(x, indent, out);
                        }
                        _ => {
                            let _ = writeln!(out, "{pad}{k}: {}", scalar(x));
                        }
                    }
                }
            }
            V::Array(a) if !a.is_empty() => {
                for x in a {
                    let mut inner = String::new();
                    go(x, indent + 2, &mut inner);
                    let body = inner.trim_start();
                    if matches!(x, V::Object(o) if !o.is_empty())
                        || matches!(x, V::Array(a) if !a.is_empty())
                    {
                        let _ = write!(out, "{pad}- {body}");
                    } else {
                        let _ = writeln!(out, "{pad}- {}", scalar(x));
                    }
                }
            }
            x => {
                let _ = writeln!(out, "{pad}{}", scalar(x));
            }
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Object(_) => "{}".into(),
            serde_json::Value::Array(_) => "[]".into(),
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    go(v, 0, &mut out);
    out
}
