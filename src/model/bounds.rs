//! What makes each part of a poll distinct: [`unique_ids`] makes every sensor's and PSU's id
//! unique within its BMC, so every series it becomes is unique too.

use std::collections::{HashMap, HashSet};

use super::{Field, Reading};

/// Makes the ids unique, keeping each first occurrence: an empty id becomes `"-"`, a repeated one
/// gets `~2`, `~3`, ... (the first free suffix). Stable while the BMC lists its parts in the same
/// order.
pub fn unique_ids<'a>(ids: impl IntoIterator<Item = &'a mut String>) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut next: HashMap<String, u64> = HashMap::new();
    for id in ids {
        if id.is_empty() {
            id.push('-');
        }
        if seen.insert(id.clone()) {
            continue;
        }
        let n = next.entry(id.clone()).or_insert(2);
        let unique = loop {
            let candidate = format!("{id}~{n}");
            *n += 1;
            if !seen.contains(&candidate) {
                break candidate;
            }
        };
        seen.insert(unique.clone());
        *id = unique;
    }
}

impl Reading {
    /// Makes the ids of the sensors and of the PSUs unique (see [`unique_ids`]).
    pub fn unique_ids(&mut self) {
        if let Field::Ok(sensors) = &mut self.sensors {
            unique_ids(sensors.iter_mut().map(|s| &mut s.id));
        }
        if let Field::Ok(psus) = &mut self.psus {
            unique_ids(psus.iter_mut().map(|p| &mut p.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_empty_ids_become_unique_and_stable() {
        let mut ids: Vec<String> = ["a", "a", "a~2", "", "", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        unique_ids(ids.iter_mut());
        assert_eq!(ids, ["a", "a~2", "a~2~2", "-", "-~2", "b"]);
        let mut again: Vec<String> = ["a", "a", "a~2", "", "", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        unique_ids(again.iter_mut());
        assert_eq!(ids, again);
    }
}
