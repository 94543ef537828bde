//! Rendering a [`Digest`]: JSON (the API's shape), email-safe HTML (one table at most 600 px
//! wide, every style inlined by `css-inline`, no scripts), Markdown and plain text, all from
//! the same data through minijinja templates. A user template gets the same context: the
//! digest's JSON form (README "Digest" documents it) and a `date` filter.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment};

use super::Digest;

/// Output formats of a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Html,
    #[value(name = "md", alias = "markdown")]
    Markdown,
    Text,
}

impl Format {
    /// The formats rendered through templates.
    const TEMPLATED: [Format; 3] = [Format::Html, Format::Markdown, Format::Text];

    /// The file a template directory (`--digest-templates`) holds this format's template in.
    fn template_file(self) -> &'static str {
        match self {
            Format::Json => "",
            Format::Html => "digest.html.j2",
            Format::Markdown => "digest.md.j2",
            Format::Text => "digest.txt.j2",
        }
    }

    fn default_template(self) -> &'static str {
        match self {
            Format::Json => "",
            Format::Html => include_str!("templates/digest.html.j2"),
            Format::Markdown => include_str!("templates/digest.md.j2"),
            Format::Text => include_str!("templates/digest.txt.j2"),
        }
    }
}

/// Why a digest could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the template cannot be rendered: {0:#}")]
    Template(#[from] minijinja::Error),
    #[error("the rendered HTML cannot be inlined: {0}")]
    Inline(#[from] css_inline::InlineError),
    #[error("a JSON template makes no sense: JSON is rendered without one")]
    JsonTemplate,
}

/// A newsroom's own templates, which replace the built-in ones in every digest the process
/// renders unless a call brings its own (`newsgist digest --template`): the files
/// `digest.html.j2`, `digest.md.j2` and `digest.txt.j2` of one directory, each optional.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    by_format: Vec<(Format, String)>,
}

/// Why a template directory cannot be used (reported at start-up).
#[derive(Debug, thiserror::Error)]
pub enum TemplatesError {
    #[error("cannot read digest template {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{dir} has none of digest.html.j2, digest.md.j2 and digest.txt.j2 (--digest-templates)")]
    Empty { dir: PathBuf },
    #[error("digest template {path}: {source}")]
    Broken { path: PathBuf, source: RenderError },
}

impl Templates {
    /// Reads the templates in `dir`, rendering each once (an empty digest) so that a syntax
    /// error stops start-up instead of failing digests later.
    pub fn load(dir: &Path) -> Result<Templates, TemplatesError> {
        let mut by_format = Vec::new();
        for format in Format::TEMPLATED {
            let path = dir.join(format.template_file());
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => source,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(TemplatesError::Unreadable { path, source }),
            };
            render(&Digest::default(), format, Some(&source)).map_err(|source| TemplatesError::Broken {
                path: path.clone(),
                source,
            })?;
            by_format.push((format, source));
        }
        if by_format.is_empty() {
            return Err(TemplatesError::Empty { dir: dir.into() });
        }
        Ok(Templates { by_format })
    }

    /// The template that replaces the built-in one for `format`, if any.
    pub fn get(&self, format: Format) -> Option<&str> {
        self.by_format
            .iter()
            .find(|(f, _)| *f == format)
            .map(|(_, source)| source.as_str())
    }
}

/// Renders `digest` as `format`, through `template` (minijinja source) instead of the
/// built-in one when given. HTML is escaped and has its CSS inlined either way.
pub fn render(digest: &Digest, format: Format, template: Option<&str>) -> Result<String, RenderError> {
    if format == Format::Json {
        if template.is_some() {
            return Err(RenderError::JsonTemplate);
        }
        return Ok(serde_json::to_string_pretty(digest).expect("a digest serialises") + "\n");
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(move |_| {
        if format == Format::Html {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("date", date);
    let source = template.unwrap_or_else(|| format.default_template());
    let rendered = env.render_str(source, minijinja::Value::from_serialize(digest))?;
    match format {
        Format::Html => Ok(css_inline::inline(&rendered)?),
        _ => Ok(rendered),
    }
}

/// `2016-11-06T09:30:00Z` -> `2016-11-06 09:30 UTC`; other text unchanged.
fn date(value: String) -> String {
    match (value.get(..10), value.get(11..16)) {
        (Some(day), Some(time)) if value.as_bytes().get(10) == Some(&b'T') => format!("{day} {time} UTC"),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Digest {
        Digest {
            title: "Morning <brief>".into(),
            ..Digest::default()
        }
    }

    #[test]
    fn html_is_escaped_and_inlined_without_a_style_block() {
        let html = render(&empty(), Format::Html, None).unwrap();
        assert!(html.contains("Morning &lt;brief&gt;"), "{html}");
        assert!(!html.contains("<style") && !html.contains("<script"));
        assert!(html.contains("max-width: 600px"), "styles are inlined: {html}");
    }

    #[test]
    fn a_user_template_gets_the_digest_and_a_bad_one_is_an_error() {
        let text = render(&empty(), Format::Text, Some("{{ title }}: {{ stories|length }}")).unwrap();
        assert_eq!(text, "Morning <brief>: 0");
        assert!(matches!(
            render(&empty(), Format::Markdown, Some("{% for %}")),
            Err(RenderError::Template(_))
        ));
        assert!(matches!(
            render(&empty(), Format::Json, Some("x")),
            Err(RenderError::JsonTemplate)
        ));
        assert_eq!(date("2016-11-06T09:30:00Z".into()), "2016-11-06 09:30 UTC");
    }

    #[test]
    fn a_template_directory_replaces_the_formats_it_has_and_a_broken_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("digest.md.j2"), "# {{ title }} (ours)").unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        assert_eq!(templates.get(Format::Markdown), Some("# {{ title }} (ours)"));
        assert_eq!(templates.get(Format::Html), None, "html keeps the built-in template");
        assert_eq!(templates.get(Format::Json), None);

        std::fs::write(dir.path().join("digest.html.j2"), "{% if %}").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("digest.html.j2"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let err = Templates::load(empty.path()).unwrap_err().to_string();
        assert!(err.contains("has none of digest.html.j2"), "{err}");
    }
}
