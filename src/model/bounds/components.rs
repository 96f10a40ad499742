//! The bounds on [`Components`]: at most [`MAX_COMPONENTS_PER_KIND`] parts of each kind (the
//! rest counted in [`Components::dropped`]), names, states and versions cut, ids made unique.

use super::{MAX_COMPONENTS_PER_KIND, MAX_NAME_CHARS, MAX_STATE_CHARS, truncate_chars, unique_ids};
use crate::model::{Components, Field, Part};

fn bound_part(p: &mut Part) {
    truncate_chars(&mut p.id, MAX_NAME_CHARS);
    truncate_chars(&mut p.name, MAX_NAME_CHARS);
    if let Some(s) = &mut p.state {
        truncate_chars(s, MAX_STATE_CHARS);
    }
}

fn bound_opt(s: &mut Option<String>, max: usize) {
    if let Some(s) = s {
        truncate_chars(s, max);
    }
}

/// Keeps at most [`MAX_COMPONENTS_PER_KIND`] of `parts`, counting the rest in `dropped`, bounds
/// each with `each` and makes their ids unique.
fn bound_kind<T>(
    parts: &mut Vec<T>,
    dropped: &mut u64,
    mut each: impl FnMut(&mut T),
    id: impl FnMut(&mut T) -> &mut String,
) {
    if parts.len() > MAX_COMPONENTS_PER_KIND {
        *dropped += (parts.len() - MAX_COMPONENTS_PER_KIND) as u64;
        parts.truncate(MAX_COMPONENTS_PER_KIND);
    }
    parts.shrink_to_fit();
    parts.iter_mut().for_each(&mut each);
    unique_ids(parts.iter_mut().map(id));
}

impl Components {
    /// Enforces [`MAX_COMPONENTS_PER_KIND`] and the string bounds.
    pub fn bound(&mut self) {
        let d = &mut self.dropped;
        if let Field::Ok(s) = &mut self.storage {
            bound_kind(
                &mut s.controllers,
                d,
                |c| {
                    bound_part(&mut c.part);
                    bound_opt(&mut c.model, MAX_NAME_CHARS);
                    bound_opt(&mut c.firmware_version, MAX_NAME_CHARS);
                },
                |c| &mut c.part.id,
            );
            bound_kind(
                &mut s.drives,
                d,
                |x| {
                    bound_part(&mut x.part);
                    bound_opt(&mut x.model, MAX_NAME_CHARS);
                    bound_opt(&mut x.media_type, MAX_STATE_CHARS);
                    x.life_left_percent = x.life_left_percent.filter(|p| (0.0..=100.0).contains(p));
                },
                |x| &mut x.part.id,
            );
            bound_kind(
                &mut s.volumes,
                d,
                |v| {
                    bound_part(&mut v.part);
                    bound_opt(&mut v.raid_type, MAX_STATE_CHARS);
                },
                |v| &mut v.part.id,
            );
        }
        if let Field::Ok(m) = &mut self.memory {
            bound_kind(m, d, |x| bound_part(&mut x.part), |x| &mut x.part.id);
        }
        if let Field::Ok(c) = &mut self.processors {
            bound_kind(
                c,
                d,
                |x| {
                    bound_part(&mut x.part);
                    bound_opt(&mut x.model, MAX_NAME_CHARS);
                },
                |x| &mut x.part.id,
            );
        }
        if let Field::Ok(n) = &mut self.network {
            bound_kind(n, d, |x| bound_part(&mut x.part), |x| &mut x.part.id);
        }
        if let Field::Ok(f) = &mut self.firmware {
            bound_kind(
                f,
                d,
                |x| {
                    truncate_chars(&mut x.id, MAX_NAME_CHARS);
                    truncate_chars(&mut x.name, MAX_NAME_CHARS);
                    bound_opt(&mut x.version, MAX_NAME_CHARS);
                },
                |x| &mut x.id,
            );
        }
        if let Field::Ok(c) = &mut self.cooling {
            bound_kind(c, d, |x| bound_part(&mut x.part), |x| &mut x.part.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorKind, Health, Limits, Reading};

    fn part(id: &str, name: &str) -> Part {
        Part {
            id: id.into(),
            name: name.into(),
            health: Health::Ok,
            state: Some("S".repeat(500)),
        }
    }

    #[test]
    fn components_keep_the_bound_per_kind_count_the_rest_and_cut_strings() {
        use crate::model::{Dimm, Drive, Firmware, Storage};
        let mut c = Components::all_failed(ErrorKind::Protocol, "x");
        let drive = Drive {
            part: part("d", &"n".repeat(1000)),
            failure_predicted: Some(false),
            life_left_percent: Some(250.0),
            capacity_bytes: Some(1),
            media_type: Some("M".repeat(100)),
            model: Some("m".repeat(1000)),
        };
        c.storage = Field::Ok(Storage {
            drives: vec![drive; 300],
            ..Storage::default()
        });
        let dimm = Dimm {
            part: part("", "DIMM"),
            capacity_mib: None,
            correctable_errors: None,
            uncorrectable_errors: None,
        };
        c.memory = Field::Ok(vec![dimm; 3]);
        c.firmware = Field::Ok(vec![Firmware {
            id: "f".into(),
            name: "BMC".into(),
            version: Some("v".repeat(10_000)),
            updateable: Some(true),
        }]);
        let mut r = Reading::all_failed(ErrorKind::Protocol, "x");
        r.components = Some(Box::new(c));
        r.bound(&Limits::default());
        let c = r.components.expect("components");
        let drives = c.drives();
        assert_eq!(drives.len(), MAX_COMPONENTS_PER_KIND);
        assert_eq!(c.dropped, 300 - MAX_COMPONENTS_PER_KIND as u64);
        assert_eq!(drives[0].part.name.chars().count(), MAX_NAME_CHARS);
        assert_eq!(
            drives[0].model.as_ref().map(String::len),
            Some(MAX_NAME_CHARS)
        );
        assert_eq!(
            drives[0].media_type.as_ref().map(String::len),
            Some(MAX_STATE_CHARS)
        );
        assert_eq!(
            drives[0].part.state.as_ref().map(String::len),
            Some(MAX_STATE_CHARS)
        );
        assert_eq!(
            drives[0].life_left_percent, None,
            "250 % is not a life left"
        );
        assert_eq!(
            (drives[0].part.id.as_str(), drives[1].part.id.as_str()),
            ("d", "d~2")
        );
        let dimms = c.memory.ok().expect("memory");
        let ids: Vec<&str> = dimms.iter().map(|d| d.part.id.as_str()).collect();
        assert_eq!(ids, ["-", "-~2", "-~3"]);
        let fw = c.firmware.ok().expect("firmware");
        assert_eq!(
            fw[0].version.as_ref().map(String::len),
            Some(MAX_NAME_CHARS)
        );
    }

    #[test]
    fn a_reading_without_components_stays_small() {
        // 200,000 BMCs of which most answer nothing: components cost them one pointer.
        assert_eq!(
            std::mem::size_of::<Option<Box<Components>>>(),
            std::mem::size_of::<usize>()
        );
    }
}
