//! What a person sees and does on a page, for the browser tests: find a form
//! field by its visible label, read the result table by its column headers,
//! press keys, check that the focused element shows a focus indicator and
//! that no dialog opened.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::error::Error;

/// What page helpers return.
pub(crate) type Res<T> = Result<T, Box<dyn Error>>;

/// The form control whose `<label>` reads `label` (exactly, whitespace
/// trimmed), found through the label's `for` attribute.
pub(crate) async fn field(c: &Client, label: &str) -> Res<Element> {
    let xpath = format!("//label[normalize-space()='{label}']");
    let label_el = c.find(Locator::XPath(&xpath)).await?;
    let target = label_el
        .attr("for")
        .await?
        .ok_or_else(|| format!("label “{label}” names no control (no `for`)"))?;
    Ok(c.find(Locator::Id(&target)).await?)
}

/// Polls `script` (returning true, or any value but false and null, when done) for up to
/// 15 s; returns what it returned.
pub(crate) async fn wait_for(c: &Client, what: &str, script: &str) -> Res<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let value = c.execute(script, vec![]).await?;
        if value != serde_json::Value::Bool(false) && value != serde_json::Value::Null {
            return Ok(value);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Replaces a text field's value by typing `text` into it.
pub(crate) async fn type_into(c: &Client, label: &str, text: &str) -> Res<Element> {
    let input = field(c, label).await?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(input)
}

/// One row of the result table: each cell's text by its column header, and
/// the links of the row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Row {
    pub(crate) cells: BTreeMap<String, String>,
    pub(crate) links: Vec<String>,
}

impl Row {
    /// The text of the column headed `header` (empty if there is none).
    pub(crate) fn cell(&self, header: &str) -> &str {
        self.cells.get(header).map(String::as_str).unwrap_or("")
    }

    /// The link to the record page (`/record/{uscc}/{id}`), if the row has one.
    pub(crate) fn record_link(&self) -> Option<&str> {
        self.links
            .iter()
            .map(String::as_str)
            .find(|l| l.starts_with("/record/"))
    }

    /// The record id in the row's record link (`/record/{uscc}/{id}`), if
    /// the row has one.
    pub(crate) fn record_id(&self) -> Option<String> {
        let link = self.record_link()?;
        let path = link.split('?').next().unwrap_or(link);
        path.rsplit('/').next().map(percent_decode)
    }
}

/// The rows of the result table in `main`, cells keyed by the texts of the
/// table's column headers (read in one script call).
pub(crate) async fn result_rows(c: &Client) -> Res<Vec<Row>> {
    let script = r#"
        const table = document.querySelector('main table');
        if (!table) { return []; }
        const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim());
        return Array.from(table.querySelectorAll('tbody tr')).map(tr => {
            const cells = {};
            Array.from(tr.children).forEach((cell, i) => { cells[heads[i] || String(i)] = cell.textContent.trim(); });
            const links = Array.from(tr.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
            return { cells, links };
        });
    "#;
    let rows = c.execute(script, vec![]).await?;
    Ok(serde_json::from_value(rows)?)
}

/// The link whose visible text contains `text`, e.g. the pager's 下一页.
pub(crate) async fn link(c: &Client, text: &str) -> Res<Element> {
    Ok(c.find(Locator::XPath(&format!(
        "//a[contains(normalize-space(), '{text}')]"
    )))
    .await?)
}

/// Whether a link whose visible text contains `text` is on the page.
pub(crate) async fn has_link(c: &Client, text: &str) -> Res<bool> {
    let xpath = format!("//a[contains(normalize-space(), '{text}')]");
    Ok(!c.find_all(Locator::XPath(&xpath)).await?.is_empty())
}

/// The text content of the first element matching a CSS selector.
pub(crate) async fn text_of(c: &Client, css: &str) -> Res<String> {
    Ok(c.find(Locator::Css(css)).await?.text().await?)
}

/// The path and query of the current page, e.g. `/entity/9142…?as_of=…`.
pub(crate) async fn path_and_query(c: &Client) -> Res<String> {
    let url = c.current_url().await?;
    Ok(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    })
}

/// Types a day into the focused date field, part by part in the order the
/// browser's locale shows them (year first in zh-CN); a full month or day
/// moves on by itself, a year needs the right arrow.
pub(crate) async fn type_date(c: &Client, date: chrono::NaiveDate) -> Res<()> {
    let order = c
        .execute(
            "return new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2001, 10, 22))\
             .map(p => p.type).filter(t => t === 'year' || t === 'month' || t === 'day');",
            vec![],
        )
        .await?;
    let order: Vec<String> = serde_json::from_value(order)?;
    for (i, part) in order.iter().enumerate() {
        let digits = match part.as_str() {
            "year" => date.format("%Y"),
            "month" => date.format("%m"),
            _ => date.format("%d"),
        };
        type_keys(c, &digits.to_string()).await?;
        if part == "year" && i + 1 < order.len() {
            press(c, Key::Right).await?;
        }
    }
    Ok(())
}

/// Marks the current document, runs `act` (a click, a key press), and
/// waits (up to 15 s: CI runs other tests beside the browser) until a new document has replaced it and finished
/// loading.
pub(crate) async fn navigating<F>(c: &Client, act: F) -> Res<()>
where
    F: std::future::Future<Output = Res<()>>,
{
    c.execute("window.__beforeNavigation = true;", vec![])
        .await?;
    act.await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let done = c
            .execute(
                "return window.__beforeNavigation === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await?;
        if done == serde_json::Value::Bool(true) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("no new page loaded; still at {}", c.current_url().await?).into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Clicks an element (a link, a submit button) and waits for the new page.
pub(crate) async fn click_to_page(c: &Client, element: Element) -> Res<()> {
    navigating(c, async {
        element.click().await?;
        Ok(())
    })
    .await
}

/// Presses and releases one key, sent to whatever has the focus.
pub(crate) async fn press(c: &Client, key: Key) -> Res<()> {
    let value: char = key.into();
    let actions = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    c.perform_actions(actions).await?;
    Ok(())
}

/// Types text into whatever has the focus, key by key.
pub(crate) async fn type_keys(c: &Client, text: &str) -> Res<()> {
    let mut actions = KeyActions::new("keyboard".to_owned());
    for value in text.chars() {
        actions = actions
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
    }
    c.perform_actions(actions).await?;
    Ok(())
}

/// The focused element as the tests describe it: tag, id, href and text,
/// and its focus indicator (computed outline and box-shadow).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Focused {
    pub(crate) tag: String,
    pub(crate) id: String,
    pub(crate) href: String,
    pub(crate) text: String,
    pub(crate) outline_style: String,
    pub(crate) outline_width: String,
    pub(crate) box_shadow: String,
}

impl Focused {
    /// Whether the element shows that it has the focus: a visible outline
    /// (style not `none`, width not zero) or a box shadow.
    pub(crate) fn indicator_visible(&self) -> bool {
        let outline = self.outline_style != "none" && self.outline_width != "0px";
        outline || self.box_shadow != "none"
    }
}

/// The element that has the focus, read by script.
pub(crate) async fn focused(c: &Client) -> Res<Focused> {
    let script = r#"
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return {
            tag: el.tagName.toLowerCase(),
            id: el.id || '',
            href: el.getAttribute('href') || '',
            text: (el.textContent || '').trim(),
            outline_style: style.outlineStyle,
            outline_width: style.outlineWidth,
            box_shadow: style.boxShadow,
        };
    "#;
    Ok(serde_json::from_value(c.execute(script, vec![]).await?)?)
}

/// Fails if a dialog (alert, confirm, prompt) is open.
pub(crate) async fn assert_no_dialog(c: &Client) -> Res<()> {
    match c.get_alert_text().await {
        Ok(text) => Err(format!("a dialog opened: “{text}”").into()),
        Err(e) if e.is_no_such_alert() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Decodes `%XX` escapes of a URL path segment (UTF-8).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
