//! What templates render: the page chrome, generic forms and tables, and
//! one struct per template (askama checks each against its file at compile
//! time).

use askama::Template;

use super::assets;
use super::session::Viewer;

pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// Around every page: title, navigation for the viewer's role, the logout
/// form.
pub struct Chrome {
    pub title: String,
    pub nav: Vec<NavItem>,
    pub who: String,
    pub role: &'static str,
    pub csrf: String,
    pub assets: String,
}

impl Chrome {
    pub fn new(v: &Viewer, title: &str, current: &str) -> Chrome {
        let admin = v.is_admin();
        let affiliate = v.key.role == clickledger_store::Role::Affiliate;
        let mut items: Vec<(&'static str, &'static str)> =
            vec![("/", "Overview"), ("/offers", "Offers")];
        if admin {
            items.push(("/advertisers", "Advertisers"));
            items.push(("/affiliates", "Affiliates"));
        }
        items.push(("/links", "Links"));
        items.push(("/reports", "Reports"));
        items.push(("/conversions", "Conversions"));
        if !affiliate {
            items.push(("/postback-log", "Postback log"));
        }
        items.push(("/deliveries", "Deliveries"));
        items.push(("/alerts", "Alerts"));
        if v.key.role != clickledger_store::Role::Advertiser {
            items.push(("/finance", "Finance"));
        }
        if admin {
            items.push(("/audit", "Audit log"));
            items.push(("/users", "Users"));
        }
        let mut nav: Vec<NavItem> = items
            .into_iter()
            .map(|(href, label)| NavItem {
                href: href.to_string(),
                label,
                current: href == current,
            })
            .collect();
        // a partner's own settings: its postback setup, template versions
        if let (false, Some(me)) = (admin, &v.key.partner_id) {
            let href = format!("/{}s/{me}", v.key.role.as_str());
            nav.push(NavItem {
                current: href == current,
                href,
                label: "Settings",
            });
        }
        Chrome {
            title: title.to_string(),
            nav,
            who: v.label.clone(),
            role: v.key.role.as_str(),
            csrf: v.csrf.clone(),
            assets: assets::base(),
        }
    }

    /// For pages shown without a session (login, invitation, refusals).
    pub fn bare(title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            nav: Vec::new(),
            who: String::new(),
            role: "",
            csrf: String::new(),
            assets: assets::base(),
        }
    }
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `email`, `password`, `url`, `number`, `select`, `textarea`,
    /// `file` (a CSV file; its form is sent as multipart).
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
    pub help: &'static str,
    pub error: Option<String>,
    /// Values offered while typing (an HTML datalist), e.g. timezones.
    pub suggestions: &'static [String],
}

impl Field {
    pub fn text(name: &'static str, label: &'static str) -> Field {
        Field {
            name,
            label,
            kind: "text",
            value: String::new(),
            options: Vec::new(),
            required: true,
            help: "",
            error: None,
            suggestions: &[],
        }
    }

    pub fn kind(mut self, kind: &'static str) -> Field {
        self.kind = kind;
        self
    }

    pub fn optional(mut self) -> Field {
        self.required = false;
        self
    }

    pub fn help(mut self, help: &'static str) -> Field {
        self.help = help;
        self
    }

    pub fn value(mut self, v: impl Into<String>) -> Field {
        self.value = v.into();
        self
    }

    pub fn suggest(mut self, values: &'static [String]) -> Field {
        self.suggestions = values;
        self
    }

    pub fn select(mut self, options: Vec<(String, String)>) -> Field {
        self.kind = "select";
        self.options = options;
        self
    }
}

pub struct Form {
    pub id: &'static str,
    pub title: &'static str,
    pub action: String,
    /// `post` (carries the CSRF token) or `get` (a filter).
    pub method: &'static str,
    pub submit: &'static str,
    pub fields: Vec<Field>,
    pub error: Option<String>,
    pub csrf: String,
    /// A GET form whose results (the element this selects) htmx refreshes
    /// as the user types; without scripts, the button does the same.
    pub live: Option<&'static str>,
}

impl Form {
    /// A form with a file field is sent as `multipart/form-data`.
    pub fn multipart(&self) -> bool {
        self.fields.iter().any(|f| f.kind == "file")
    }

    /// Shows an API refusal next to the field its message names (messages
    /// begin with the field: `offer_id: no offer …`), else above the form.
    pub fn refused(&mut self, message: &str, values: &[(String, String)]) {
        for f in &mut self.fields {
            if let Some((_, v)) = values.iter().find(|(k, _)| k == f.name) {
                f.value = v.clone();
            }
        }
        let named = self.fields.iter_mut().find(|f| {
            message
                .strip_prefix(f.name)
                .is_some_and(|rest| rest.starts_with([':', ' ', '[', '.']))
        });
        match named {
            Some(f) => f.error = Some(message.to_string()),
            None => self.error = Some(message.to_string()),
        }
    }
}

/// A button that posts to `action` (with the CSRF token).
pub struct Button {
    pub action: String,
    pub label: String,
}

#[derive(Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub class: &'static str,
    pub button: Option<Button>,
    /// Rendered as code with a copy button.
    pub copy: bool,
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            ..Default::default()
        }
    }

    pub fn link(t: impl Into<String>, href: String) -> Cell {
        Cell {
            text: t.into(),
            href: Some(href),
            ..Default::default()
        }
    }

    pub fn num(t: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            class: "num",
            ..Default::default()
        }
    }

    pub fn copy(t: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            copy: true,
            ..Default::default()
        }
    }

    pub fn status(status: &str, kind: &str, id: &str, admin: bool) -> Cell {
        let (label, to) = if status == "paused" {
            ("Resume", "resume")
        } else {
            ("Pause", "pause")
        };
        Cell {
            text: status.to_string(),
            class: if status == "paused" {
                "paused"
            } else {
                "active"
            },
            button: admin.then(|| Button {
                action: format!("/{kind}/{id}/status?to={to}"),
                label: format!("{label} {id}"),
            }),
            ..Default::default()
        }
    }
}

pub struct Table {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: &'static str,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    /// For a searchable list: the words searched for (empty: all rows).
    pub search: Option<String>,
    pub heading: String,
    pub intro: String,
    pub notice: Option<String>,
    pub filter: Option<Form>,
    pub create: Option<Form>,
    pub table: Table,
}

impl ListPage {
    /// A page whose table is captioned like its title; the rest is empty.
    pub fn new(
        v: &Viewer,
        title: &str,
        current: &str,
        columns: Vec<&'static str>,
        rows: Vec<Vec<Cell>>,
        empty: &'static str,
    ) -> ListPage {
        ListPage {
            chrome: Chrome::new(v, title, current),
            search: None,
            heading: title.to_string(),
            intro: String::new(),
            notice: None,
            filter: None,
            create: None,
            table: Table {
                caption: title.to_string(),
                columns: columns.into_iter().map(str::to_string).collect(),
                rows,
                empty,
            },
        }
    }

    /// Renders the page; a searchable one gets its search form and keeps
    /// the rows where some cell contains the words (any case).
    pub fn answer(mut self, status: axum::http::StatusCode) -> axum::response::Response {
        if let Some(q) = self.search.clone() {
            let needle = q.to_lowercase();
            if !needle.is_empty() {
                self.table
                    .rows
                    .retain(|r| r.iter().any(|c| c.text.to_lowercase().contains(&needle)));
            }
            self.filter = Some(Form {
                id: "search",
                title: "Search",
                action: self
                    .chrome
                    .nav
                    .iter()
                    .find(|n| n.current)
                    .map(|n| n.href.to_string())
                    .unwrap_or_default(),
                method: "get",
                submit: "Search",
                fields: vec![Field::text("q", "Id or name contains").optional().value(q)],
                error: None,
                csrf: String::new(),
                live: None,
            });
        }
        super::html(status, self.render())
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub message: String,
    pub link: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub chrome: Chrome,
    pub csrf: String,
    pub email: String,
    pub action: String,
    pub error: Option<String>,
}

pub struct Kpi {
    pub label: &'static str,
    pub today: String,
    pub yesterday: String,
    pub month: String,
    pub last_month: String,
    /// `up`, `down` or `same`: today against yesterday, month against last.
    pub day_trend: &'static str,
    pub month_trend: &'static str,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub chrome: Chrome,
    pub kpis: Vec<Kpi>,
    pub currency: String,
    /// `{"days": [...], "clicks": [...], "conversions": [...]}` for uPlot.
    pub chart_json: String,
    pub tops: Vec<Table>,
    pub failed_24h: Option<i64>,
}

/// One postback log entry, received beside expected.
pub struct PostbackEntry {
    pub time: String,
    pub result: String,
    pub error: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    pub advertiser: String,
    pub ip: String,
    /// name, value received, what it was read as (`—` unrecognized), bad
    pub received: Vec<(String, String, String, bool)>,
    pub missing: Vec<String>,
    pub template: String,
}

#[derive(Template)]
#[template(path = "postbacks.html")]
pub struct PostbackPage {
    pub chrome: Chrome,
    pub filter: Form,
    pub entries: Vec<PostbackEntry>,
}

#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportPage {
    pub chrome: Chrome,
    pub filter: Form,
    pub currency: String,
    pub csv_href: Option<String>,
    pub chart_json: Option<String>,
    pub table: Table,
}

/// A record's facts, tables about it, and a form.
#[derive(Template)]
#[template(path = "detail.html")]
pub struct DetailPage {
    pub chrome: Chrome,
    pub heading: String,
    pub notice: Option<String>,
    pub facts: Vec<(String, String)>,
    pub filter: Option<Form>,
    pub tables: Vec<Table>,
    /// Forms after the tables (create, edit, run).
    pub forms: Vec<Form>,
    /// A built tracking link, with a copy button.
    pub built: Option<String>,
    /// Checklist steps: passed, name, detail.
    pub steps: Vec<(bool, String, String)>,
    pub links: Vec<(String, String)>,
}
