//! Per-language tag extraction on small fixture sources.

use std::path::Path;
use std::time::Duration;

use aidx_repo_map::{FileTags, Lang, TagKind, extract_tags};

fn tags_of(file: &str) -> FileTags {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    let lang = Lang::from_path(&path).expect("fixture has a supported extension");
    let source = std::fs::read_to_string(&path).expect("fixture readable");
    extract_tags(lang, &source, Duration::from_secs(5)).expect("fixture parses in time")
}

/// Asserts `name` is defined with `kind` on `line`, and that its signature is that source line.
fn assert_def(tags: &FileTags, name: &str, kind: TagKind, line: u32) {
    let found = tags.definitions.iter().find(|d| d.name == name);
    let Some(def) = found else {
        panic!("{name} not defined; definitions: {:#?}", tags.definitions);
    };
    assert_eq!((def.kind, def.line), (kind, line), "{name}: {def:?}");
    assert!(
        def.signature.contains(name),
        "signature of {name}: {:?}",
        def.signature
    );
}

fn assert_ref(tags: &FileTags, name: &str) {
    assert!(
        tags.references.iter().any(|(n, c)| n == name && *c > 0),
        "{name} not referenced; references: {:?}",
        tags.references
    );
}

#[test]
fn every_bundled_query_compiles() {
    for lang in Lang::ALL {
        lang.tags_query().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn rust() {
    let t = tags_of("sample.rs");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 3);
    assert_def(&t, "Inventory", TagKind::Type, 5);
    assert_def(&t, "Describe", TagKind::Trait, 9);
    assert_def(&t, "describe", TagKind::Method, 10);
    assert_def(&t, "add_item", TagKind::Method, 14);
    assert_def(&t, "log_change", TagKind::Function, 20);
    assert_def(&t, "shout", TagKind::Macro, 24);
    assert_def(&t, "Item", TagKind::Type, 28);
    assert_def(&t, "helpers", TagKind::Module, 30);
    assert_ref(&t, "log_change");
    assert_ref(&t, "push");
    assert_ref(&t, "Item");
    assert_ref(&t, "println");
}

#[test]
fn python() {
    let t = tags_of("sample.py");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 3);
    assert_def(&t, "Inventory", TagKind::Type, 5);
    assert_def(&t, "add_item", TagKind::Method, 6);
    assert_def(&t, "size", TagKind::Method, 11);
    assert_def(&t, "log_change", TagKind::Function, 14);
    assert_ref(&t, "log_change");
    assert_ref(&t, "Base");
    assert_ref(&t, "append");
}

#[test]
fn javascript() {
    let t = tags_of("sample.js");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 1);
    assert_def(&t, "Inventory", TagKind::Type, 3);
    assert_def(&t, "addItem", TagKind::Method, 4);
    assert_def(&t, "logChange", TagKind::Function, 10);
    assert_def(&t, "makeInventory", TagKind::Function, 14);
    assert_ref(&t, "logChange");
    assert_ref(&t, "Base");
    assert_ref(&t, "Inventory");
}

#[test]
fn typescript() {
    let t = tags_of("sample.ts");
    assert_def(&t, "Describable", TagKind::Trait, 1);
    assert_def(&t, "describe", TagKind::Method, 2);
    assert_def(&t, "ItemId", TagKind::Type, 5);
    assert_def(&t, "Color", TagKind::Type, 7);
    assert_def(&t, "Inventory", TagKind::Type, 9);
    assert_def(&t, "addItem", TagKind::Method, 10);
    assert_def(&t, "logChange", TagKind::Function, 16);
    assert_ref(&t, "logChange");
    assert_ref(&t, "Item");
    assert_ref(&t, "Describable");
}

#[test]
fn tsx() {
    let t = tags_of("sample.tsx");
    assert_def(&t, "Props", TagKind::Trait, 1);
    assert_def(&t, "Header", TagKind::Function, 3);
    assert_def(&t, "formatTitle", TagKind::Function, 7);
    assert_ref(&t, "formatTitle");
    assert_ref(&t, "Props");
}

#[test]
fn go() {
    let t = tags_of("sample.go");
    assert_def(&t, "MaxItems", TagKind::Constant, 3);
    assert_def(&t, "Inventory", TagKind::Type, 5);
    assert_def(&t, "Describer", TagKind::Trait, 9);
    assert_def(&t, "Describe", TagKind::Method, 10);
    assert_def(&t, "AddItem", TagKind::Method, 13);
    assert_def(&t, "logChange", TagKind::Function, 18);
    assert_ref(&t, "logChange");
    assert_ref(&t, "Println");
    assert_ref(&t, "Item");
}

#[test]
fn java() {
    let t = tags_of("Sample.java");
    assert_def(&t, "Inventory", TagKind::Type, 3);
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 4);
    assert_def(&t, "addItem", TagKind::Method, 8);
    assert_def(&t, "Describer", TagKind::Trait, 14);
    assert_def(&t, "describe", TagKind::Method, 15);
    assert_def(&t, "Color", TagKind::Type, 18);
    assert_ref(&t, "logChange");
    assert_ref(&t, "Item");
}

#[test]
fn c() {
    let t = tags_of("sample.c");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 3);
    assert_def(&t, "inventory", TagKind::Type, 5);
    assert_def(&t, "inventory_t", TagKind::Type, 9);
    assert_def(&t, "log_change", TagKind::Function, 11);
    assert_def(&t, "add_item", TagKind::Function, 15);
    assert_ref(&t, "log_change");
    assert_ref(&t, "printf");
}

#[test]
fn cpp() {
    let t = tags_of("sample.cpp");
    assert_def(&t, "shop", TagKind::Module, 3);
    assert_def(&t, "Inventory", TagKind::Type, 5);
    assert_def(&t, "addItem", TagKind::Method, 7);
    assert_def(&t, "logChange", TagKind::Function, 17);
    assert_ref(&t, "logChange");
    assert_ref(&t, "push_back");
}

#[test]
fn csharp() {
    let t = tags_of("sample.cs");
    assert_def(&t, "Shop", TagKind::Module, 1);
    assert_def(&t, "IDescribable", TagKind::Trait, 3);
    assert_def(&t, "Inventory", TagKind::Type, 8);
    assert_def(&t, "Count", TagKind::Method, 10);
    assert_def(&t, "AddItem", TagKind::Method, 12);
    assert_ref(&t, "LogChange");
    assert_ref(&t, "IDescribable");
}

#[test]
fn ruby() {
    let t = tags_of("sample.rb");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 1);
    assert_def(&t, "Shop", TagKind::Module, 3);
    assert_def(&t, "Inventory", TagKind::Type, 4);
    assert_def(&t, "add_item", TagKind::Method, 5);
    assert_def(&t, "create", TagKind::Method, 10);
    assert_ref(&t, "log_change");
    assert_ref(&t, "Base");
}

#[test]
fn php() {
    let t = tags_of("sample.php");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 4);
    assert_def(&t, "Describable", TagKind::Trait, 6);
    assert_def(&t, "Logs", TagKind::Trait, 11);
    assert_def(&t, "logChange", TagKind::Method, 13);
    assert_def(&t, "Inventory", TagKind::Type, 19);
    assert_def(&t, "addItem", TagKind::Method, 23);
    assert_def(&t, "Color", TagKind::Type, 36);
    assert_def(&t, "format_inventory", TagKind::Function, 41);
    assert_ref(&t, "format_inventory");
    assert_ref(&t, "logChange");
    assert_ref(&t, "record");
    assert_ref(&t, "Audit");
    assert_ref(&t, "Report");
    assert_ref(&t, "Base");
    assert_ref(&t, "Describable");
    assert_ref(&t, "Logs");
    assert_ref(&t, "Item");
}

#[test]
fn kotlin() {
    let t = tags_of("sample.kt");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 3);
    assert_def(&t, "Describable", TagKind::Trait, 5);
    assert_def(&t, "describe", TagKind::Method, 6);
    assert_def(&t, "Item", TagKind::Type, 9);
    assert_def(&t, "Inventory", TagKind::Type, 11);
    assert_def(&t, "addItem", TagKind::Method, 14);
    assert_def(&t, "empty", TagKind::Method, 22);
    assert_def(&t, "Registry", TagKind::Type, 26);
    assert_def(&t, "ItemList", TagKind::Type, 30);
    assert_def(&t, "logChange", TagKind::Function, 32);
    assert_def(&t, "formatInventory", TagKind::Function, 36);
    assert_ref(&t, "logChange");
    assert_ref(&t, "formatInventory");
    assert_ref(&t, "add");
    assert_ref(&t, "Base");
    assert_ref(&t, "Describable");
    assert_ref(&t, "Item");
    // Class members are not top-level constants.
    assert!(!t.definitions.iter().any(|d| d.name == "items"));
}

#[test]
fn swift() {
    let t = tags_of("sample.swift");
    assert_def(&t, "maxItems", TagKind::Constant, 1);
    assert_def(&t, "Describable", TagKind::Trait, 3);
    assert_def(&t, "describe", TagKind::Method, 4);
    assert_def(&t, "Item", TagKind::Type, 7);
    assert_def(&t, "Inventory", TagKind::Type, 11);
    assert_def(&t, "addItem", TagKind::Method, 18);
    assert_def(&t, "Color", TagKind::Type, 28);
    assert_def(&t, "ItemList", TagKind::Type, 32);
    assert_def(&t, "logChange", TagKind::Function, 34);
    assert_def(&t, "formatInventory", TagKind::Function, 38);
    assert_ref(&t, "logChange");
    assert_ref(&t, "formatInventory");
    assert_ref(&t, "append");
    assert_ref(&t, "Base");
    assert_ref(&t, "Item");
    assert!(!t.definitions.iter().any(|d| d.name == "items"));
}

#[test]
fn lua() {
    let t = tags_of("sample.lua");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 1);
    assert_def(&t, "Inventory", TagKind::Constant, 3);
    assert_def(&t, "new", TagKind::Function, 6);
    assert_def(&t, "add_item", TagKind::Method, 10);
    assert_def(&t, "log_change", TagKind::Function, 15);
    assert_def(&t, "format", TagKind::Function, 20);
    assert_def(&t, "describe", TagKind::Function, 25);
    assert_ref(&t, "log_change");
    assert_ref(&t, "insert");
    assert_ref(&t, "format");
    assert_ref(&t, "helpers");
    assert_ref(&t, "setmetatable");
}

#[test]
fn scala() {
    let t = tags_of("sample.scala");
    assert_def(&t, "shop", TagKind::Module, 1);
    assert_def(&t, "Describable", TagKind::Trait, 3);
    assert_def(&t, "describe", TagKind::Method, 4);
    assert_def(&t, "Item", TagKind::Type, 7);
    assert_def(&t, "Inventory", TagKind::Type, 9);
    assert_def(&t, "addItem", TagKind::Method, 12);
    assert_def(&t, "Format", TagKind::Type, 20);
    assert_def(&t, "inventory", TagKind::Method, 21);
    assert_def(&t, "Color", TagKind::Type, 24);
    assert_def(&t, "ItemList", TagKind::Type, 28);
    assert_def(&t, "logChange", TagKind::Function, 30);
    assert_ref(&t, "logChange");
    assert_ref(&t, "inventory");
    assert_ref(&t, "Format");
    assert_ref(&t, "Base");
    assert_ref(&t, "Describable");
    assert_ref(&t, "Item");
    // A class's fields are not constants.
    assert!(!t.definitions.iter().any(|d| d.name == "maxItems"));
}

#[test]
fn bash() {
    let t = tags_of("sample.sh");
    assert_def(&t, "MAX_ITEMS", TagKind::Constant, 4);
    assert_def(&t, "log_change", TagKind::Function, 6);
    assert_def(&t, "add_item", TagKind::Function, 10);
    assert_ref(&t, "log_change");
    assert_ref(&t, "add_item");
    // A function's locals are not constants.
    assert!(!t.definitions.iter().any(|d| d.name == "item"));
}
