//! The JSON schemas of what bmc-catcher publishes, `docs/schema/*.schema.json`, generated from the
//! serde types themselves (schemars, a dev-dependency: the types derive `JsonSchema` only under
//! `cfg(test)`), so the documents cannot drift from the payloads. The test fails when a checked-in
//! file differs from what the types generate; `BMC_CATCHER_BLESS=1 cargo test --lib schema`
//! rewrites them. `tests/peers/nats.rs` validates real payloads against the files.

use std::path::PathBuf;

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::control::Reply;
use crate::model::{Action, BmcSnapshot, Event, Profile};

/// A command request as documented: `{"action": ...}` (the daemon also takes the bare name).
#[derive(JsonSchema)]
#[allow(dead_code, reason = "only its schema is used")]
struct CommandRequest {
    action: Action,
}

fn finish(mut schema: Schema, name: &str, title: &str, description: &str) -> String {
    let id = format!("https://bmc-catcher.example/schema/{name}.schema.json");
    schema.insert("$id".into(), id.into());
    schema.insert("title".into(), title.into());
    schema.insert("description".into(), description.into());
    let text = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
    text + "\n"
}

/// Each file's name and the text the types generate for it.
fn generated() -> Vec<(&'static str, String)> {
    let snapshot = finish(
        schemars::schema_for!(BmcSnapshot),
        "snapshot",
        "BmcSnapshot",
        "One poll result of one BMC: the value of KV key <partition>.<mac> and of \
         /api/v1/bmcs[].snapshot (each element of a page).",
    );
    let event = finish(
        schemars::schema_for!(Event),
        "event",
        "Event",
        "A change of one BMC, published on <prefix>.<partition>.<mac>.event.<kind> into the \
         events stream.",
    );
    let mut generator = SchemaGenerator::default();
    let mut command = generator.root_schema_for::<Reply>();
    // Puts CommandRequest among the definitions taken next.
    let _ = generator.subschema_for::<CommandRequest>();
    let defs = generator.take_definitions(true);
    let all = command
        .ensure_object()
        .entry("$defs")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(all) = all.as_object_mut() {
        all.extend(defs);
    }
    let command = finish(
        command,
        "command",
        "Command reply (the request is $defs.CommandRequest)",
        "Request/reply on <prefix>.<partition>.<mac>.cmd: the request is {\"action\": ...}, the \
         reply this document.",
    );
    let profile = finish(
        schemars::schema_for!(Profile),
        "profile",
        "Profile",
        "What one BMC turned out to support: the value of KV key <partition>.<mac> of the \
         profiles bucket, of [poll] profile-file's entries and of /api/v1/bmcs/{mac}.profile.",
    );
    vec![
        ("snapshot", snapshot),
        ("event", event),
        ("command", command),
        ("profile", profile),
    ]
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("docs/schema/{name}.schema.json"))
}

#[test]
fn the_checked_in_schemas_are_what_the_types_generate() {
    let bless = std::env::var_os("BMC_CATCHER_BLESS").is_some_and(|v| !v.is_empty());
    let mut stale = Vec::new();
    for (name, text) in generated() {
        let file = path(name);
        if bless {
            std::fs::write(&file, &text).expect("write schema");
            continue;
        }
        let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
        if on_disk != text {
            stale.push(file.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from the serde types; run BMC_CATCHER_BLESS=1 cargo test --lib schema",
        stale.join(", ")
    );
}

/// The generated schema says what a consumer checks: the power states, the issue types, the
/// `{"ok"}`/`{"error"}` shape of a field, an event's kinds.
#[test]
fn the_schemas_name_the_closed_sets() {
    let all: String = generated().into_iter().map(|(_, t)| t).collect();
    for needle in [
        "\"PoweringOn\"",
        "\"powersupply-failure\"",
        "\"power-changed\"",
        "\"issue-raised\"",
        "\"power-cycle\"",
        "\"unreachable\"",
        "\"subsystems\"",
        "^[0-9a-f]{2}(:[0-9a-f]{2}){5}$",
    ] {
        assert!(all.contains(needle), "{needle} missing");
    }
}
