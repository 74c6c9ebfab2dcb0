//! `aidx config`: the merged configuration and where each value came from.

use crate::context::{Context, GlobalArgs};

/// Arguments of `aidx config`.
#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// Print one JSON object: `{ "files": [...], "settings": { key: { "value", "origin" } } }`.
    #[arg(long)]
    pub json: bool,
}

/// Runs `aidx config`. Reads only; a broken file is reported with file:line:key and changes nothing.
pub fn run(args: ConfigArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    if args.json {
        let mut settings = serde_json::Map::new();
        for (key, setting) in ctx.settings.iter() {
            settings.insert(
                key.clone(),
                serde_json::json!({
                    "value": setting.value.to_json(),
                    "origin": setting.origin.to_string(),
                }),
            );
        }
        let files: Vec<String> = ctx
            .settings
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "files": files, "settings": settings })
            )?
        );
        return Ok(());
    }
    if ctx.settings.files.is_empty() {
        println!("# no .aidx.yml found (home or git root); built-in defaults");
    } else {
        for file in &ctx.settings.files {
            println!("# read {}", file.display());
        }
    }
    let width = ctx
        .settings
        .iter()
        .map(|(k, s)| k.len() + s.value.to_string().len())
        .max()
        .unwrap_or(0)
        + 2;
    for (key, setting) in ctx.settings.iter() {
        let pair = format!("{key}: {}", setting.value);
        println!("{pair:<width$}  # {}", setting.origin, width = width);
    }
    Ok(())
}
