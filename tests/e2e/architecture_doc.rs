//! `docs/ARCHITECTURE.md` must describe the code as it is:
//! - every repository path it names in backticks exists, and every
//!   `` `path/to/file.rs::function` `` names a function defined in that file
//!   (the notation the document explains at its top);
//! - its crate table matches each crate's `[dependencies]`, and every
//!   dependency points to a lower layer;
//! - every link to a local file in `README.md` and `docs/*.md` resolves,
//!   anchors included.
//!
//! Plain file reading, no server: a renamed file or function fails here with
//! the line to fix.
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

/// A code span starting with one of these (or equal to one of the root
/// files) is a repository path and is checked.
const TOP_DIRS: &[&str] = &[
    "crates/",
    "tests/",
    "migrations/",
    "helm/",
    "openapi/",
    "clients/",
    "tools/",
    "docs/",
    ".ci/",
];
const ROOT_FILES: &[&str] = &["Cargo.toml", "Cargo.lock", "Dockerfile", "README.md"];

/// The header of the crate table in `ARCHITECTURE.md`.
const CRATE_TABLE_HEADER: &str = "| Crate | Path | Layer | Depends on |";

/// The repository root (this package lives in `tests/`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The Markdown text with fenced code blocks blanked out (line numbers kept).
fn without_fences(markdown: &str) -> String {
    let mut fenced = false;
    markdown
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                ""
            } else if fenced {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// Inline code spans (single backticks) outside fenced blocks, with their line.
fn code_spans(markdown: &str) -> Vec<(usize, &str)> {
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    for (i, c) in markdown.char_indices() {
        if c == '`' {
            match open.take() {
                Some(start) => spans.push((line_of(markdown, start), &markdown[start..i])),
                None => open = Some(i + 1),
            }
        }
    }
    spans
}

/// What a code span refers to, if it looks like a repository file.
#[derive(Debug, PartialEq, Eq)]
enum Reference<'a> {
    Path(&'a str),
    Function { file: &'a str, name: &'a str },
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `None`: not a repository reference (a URL path, a Rust path, a command…).
/// `Some(Err)`: looks like one but is not written in the checkable notation.
fn reference(span: &str) -> Option<Result<Reference<'_>, String>> {
    let (path, function) = match span.split_once("::") {
        Some((path, function)) => (path, Some(function)),
        None => (span, None),
    };
    let repository_path =
        TOP_DIRS.iter().any(|d| path.starts_with(d)) || ROOT_FILES.contains(&path);
    if !repository_path {
        return path.ends_with(".rs").then(|| {
            Err(format!(
                "`{span}`: name a Rust file by its path from the repository root"
            ))
        });
    }
    if path.contains(|c: char| c.is_whitespace() || "*{}<>…$?".contains(c)) {
        return Some(Err(format!("`{span}`: not a plain repository path")));
    }
    Some(match function {
        None => Ok(Reference::Path(path)),
        Some(name) if path.ends_with(".rs") && is_identifier(name) => {
            Ok(Reference::Function { file: path, name })
        }
        Some(_) => Err(format!(
            "`{span}`: write a function as `path/to/file.rs::function` (one name after `::`)"
        )),
    })
}

/// Whether `source` defines `fn name` (free function or method, any
/// visibility or qualifiers).
fn defines_fn(source: &str, name: &str) -> bool {
    let needle = format!("fn {name}");
    source.match_indices(&needle).any(|(at, _)| {
        let before = source[..at].chars().next_back();
        let after = source[at + needle.len()..].chars().next();
        before.is_none_or(|c| !(c == '_' || c.is_alphanumeric()))
            && matches!(after, Some('(' | '<'))
    })
}

#[test]
fn architecture_doc_names_only_files_and_functions_that_exist() {
    let doc = read(ARCHITECTURE);
    assert!(
        doc.lines().take(20).any(|l| l.contains("**Notation.**")),
        "{ARCHITECTURE} must explain its notation near the top"
    );
    let prose = without_fences(&doc);
    let mut problems = Vec::new();
    let (mut paths, mut functions) = (BTreeSet::new(), BTreeSet::new());
    for (line, span) in code_spans(&prose) {
        let Some(found) = reference(span) else {
            continue;
        };
        match found {
            Err(problem) => problems.push(format!("{ARCHITECTURE}:{line}: {problem}")),
            Ok(Reference::Path(path)) => {
                if !repo().join(path).exists() {
                    problems.push(format!("{ARCHITECTURE}:{line}: `{path}` does not exist"));
                }
                paths.insert(path);
            }
            Ok(Reference::Function { file, name }) => {
                match fs::read_to_string(repo().join(file)) {
                    Err(_) => {
                        problems.push(format!("{ARCHITECTURE}:{line}: `{file}` does not exist"))
                    }
                    Ok(source) if !defines_fn(&source, name) => problems.push(format!(
                        "{ARCHITECTURE}:{line}: `{file}` has no `fn {name}`"
                    )),
                    Ok(_) => {}
                }
                functions.insert((file, name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The document names many of both: far fewer means the parsing broke.
    assert!(
        paths.len() >= 20 && functions.len() >= 40,
        "only {} paths and {} functions found in {ARCHITECTURE}",
        paths.len(),
        functions.len()
    );
}

/// The `[dependencies]` keys of a `Cargo.toml` (dev and build ones excluded).
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let mut in_section = false;
    let mut names = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[dependencies]";
            continue;
        }
        if !in_section || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line
            .split(['.', '=', ' '])
            .next()
            .unwrap_or_default()
            .trim_matches('"');
        names.insert(key.to_owned());
    }
    names
}

/// `[package] name` of a `Cargo.toml`.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

/// The workspace members' directories, from the root `Cargo.toml`
/// (`dir/*` expanded to its subdirectories holding a `Cargo.toml`).
fn workspace_members() -> BTreeSet<String> {
    let root = read("Cargo.toml");
    let list = root
        .lines()
        .find_map(|l| l.trim().strip_prefix("members"))
        .and_then(|rest| rest.split_once('['))
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list.to_owned())
        .expect("members = [...] on one line in Cargo.toml");
    let mut members = BTreeSet::new();
    for entry in list.split(',').map(|e| e.trim().trim_matches('"')) {
        if entry.is_empty() {
            continue;
        }
        match entry.strip_suffix("/*") {
            Some(dir) => {
                for sub in fs::read_dir(repo().join(dir)).expect("member glob directory") {
                    let sub = sub.expect("directory entry").path();
                    if sub.join("Cargo.toml").exists() {
                        let name = sub.file_name().unwrap().to_string_lossy().into_owned();
                        members.insert(format!("{dir}/{name}"));
                    }
                }
            }
            None => {
                members.insert(entry.to_owned());
            }
        }
    }
    members
}

struct CrateRow {
    line: usize,
    name: String,
    dir: String,
    layer: u32,
    depends_on: BTreeSet<String>,
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn crate_table(doc: &str) -> Vec<CrateRow> {
    let lines: Vec<&str> = doc.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(CRATE_TABLE_HEADER))
        .unwrap_or_else(|| panic!("{ARCHITECTURE} has no table headed `{CRATE_TABLE_HEADER}`"));
    lines[start + 2..]
        .iter()
        .enumerate()
        .take_while(|(_, l)| l.starts_with('|'))
        .map(|(i, l)| {
            let line = start + 3 + i;
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert!(
                cells.len() >= 4,
                "{ARCHITECTURE}:{line}: a crate row needs 4 cells"
            );
            let one = |cell: &str| {
                backticked(cell)
                    .pop()
                    .unwrap_or_else(|| panic!("{ARCHITECTURE}:{line}: `{cell}` needs backticks"))
            };
            CrateRow {
                line,
                name: one(cells[0]),
                dir: one(cells[1]).trim_end_matches('/').to_owned(),
                layer: cells[2]
                    .parse()
                    .unwrap_or_else(|_| panic!("{ARCHITECTURE}:{line}: layer `{}`", cells[2])),
                depends_on: backticked(cells[3]).into_iter().collect(),
            }
        })
        .collect()
}

#[test]
fn architecture_doc_crate_table_matches_the_manifests() {
    let doc = read(ARCHITECTURE);
    let rows = crate_table(&doc);
    let layers: BTreeMap<&str, u32> = rows.iter().map(|r| (r.name.as_str(), r.layer)).collect();
    let mut problems = Vec::new();

    let documented: BTreeSet<&str> = rows.iter().map(|r| r.dir.as_str()).collect();
    for member in workspace_members() {
        if !documented.contains(member.as_str()) {
            problems.push(format!(
                "workspace member `{member}/` is missing from the crate table in {ARCHITECTURE}"
            ));
        }
    }
    for row in &rows {
        let at = format!("{ARCHITECTURE}:{}", row.line);
        let Ok(manifest) = fs::read_to_string(repo().join(&row.dir).join("Cargo.toml")) else {
            problems.push(format!("{at}: `{}/Cargo.toml` does not exist", row.dir));
            continue;
        };
        if package_name(&manifest).as_deref() != Some(row.name.as_str()) {
            problems.push(format!(
                "{at}: `{}/Cargo.toml` is package {:?}, not `{}`",
                row.dir,
                package_name(&manifest),
                row.name
            ));
        }
        let actual: BTreeSet<String> = dependencies(&manifest)
            .into_iter()
            .filter(|d| layers.contains_key(d.as_str()))
            .collect();
        if actual != row.depends_on {
            problems.push(format!(
                "{at}: `{}` depends on {actual:?} (its Cargo.toml), the table says {:?}",
                row.name, row.depends_on
            ));
        }
        for dep in &actual {
            if layers[dep.as_str()] >= row.layer {
                problems.push(format!(
                    "{at}: `{}` (layer {}) depends on `{dep}` (layer {}): dependencies point inward, to a lower layer",
                    row.name, row.layer, layers[dep.as_str()]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// GitHub's anchors for the headings of a Markdown file.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for line in without_fences(markdown).lines() {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let slug: String = line[hashes..]
            .trim()
            .trim_end_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *n == 0 { slug } else { format!("{slug}-{n}") });
        *n += 1;
    }
    anchors
}

/// Link targets (inline links and images, and reference definitions)
/// outside code, with their line.
fn link_targets(markdown: &str) -> Vec<(usize, String)> {
    let prose = without_fences(markdown);
    // Blank inline code, keeping offsets (and so line numbers).
    let mut text = String::with_capacity(prose.len());
    let mut in_code = false;
    for c in prose.chars() {
        if c == '`' {
            in_code = !in_code;
            text.push(' ');
        } else if in_code && c != '\n' {
            text.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            text.push(c);
        }
    }
    let mut targets = Vec::new();
    for (at, _) in text.match_indices("](") {
        let rest = &text[at + 2..];
        if let Some(end) = rest.find(')') {
            let target = rest[..end].trim();
            let target = target.split_whitespace().next().unwrap_or_default();
            targets.push((
                line_of(&text, at),
                target.trim_matches(['<', '>']).to_owned(),
            ));
        }
    }
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with('[')
            && let Some((_, target)) = line.split_once("]: ")
        {
            targets.push((i + 1, target.trim().to_owned()));
        }
    }
    targets
}

#[test]
fn architecture_doc_and_readme_local_links_resolve() {
    let mut files = vec!["README.md".to_owned()];
    for entry in fs::read_dir(repo().join("docs")).expect("docs/ exists") {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    assert!(
        files.iter().any(|f| f == ARCHITECTURE),
        "{ARCHITECTURE} is missing"
    );
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = read(file);
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        for (line, target) in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let (shown, resolved) = if path.is_empty() {
                (file.clone(), repo().join(file))
            } else {
                let joined = dir.join(path);
                (joined.display().to_string(), repo().join(&joined))
            };
            if !resolved.exists() {
                problems.push(format!(
                    "{file}:{line}: link to `{target}`: {shown} does not exist"
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                let heads = fs::read_to_string(&resolved)
                    .map(|t| anchors(&t))
                    .unwrap_or_default();
                if !heads.contains(anchor) {
                    problems.push(format!(
                        "{file}:{line}: link to `{target}`: {shown} has no heading with anchor `#{anchor}`"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked >= 10,
        "only {checked} local links found: the parsing broke"
    );
}

#[test]
fn architecture_doc_reference_notation_is_parsed_as_documented() {
    assert_eq!(
        reference("crates/store/src/coord.rs::try_lease"),
        Some(Ok(Reference::Function {
            file: "crates/store/src/coord.rs",
            name: "try_lease"
        }))
    );
    assert_eq!(
        reference("crates/store/"),
        Some(Ok(Reference::Path("crates/store/")))
    );
    assert_eq!(reference("store::coord::LeaseFence"), None);
    assert_eq!(reference("/wechat/component/events"), None);
    assert!(matches!(reference("coord.rs"), Some(Err(_))));
    assert!(matches!(reference("crates/a.rs::A::b"), Some(Err(_))));
    assert!(defines_fn("pub(crate) async fn claim<T>(", "claim"));
    assert!(!defines_fn("async fn claim_due_deliveries(", "claim"));
    assert!(
        anchors("## Upgrading to this version (operators)\n## (a) A push: `POST /x/y`\n")
            .contains("upgrading-to-this-version-operators")
    );
    assert!(anchors("## (a) A push: `POST /x/y`\n").contains("a-a-push-post-xy"));
}
