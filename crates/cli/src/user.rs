//! `clickledger user add|list`: dashboard users managed on the store file,
//! so the first admin can be created before anyone can log in. The
//! password is asked twice on a terminal, or read from the first line of
//! standard input with `--password-stdin` (for scripts).

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use clickledger_server::users::{self, NewUser};
use clickledger_store::Role;

#[derive(Subcommand)]
pub enum Action {
    /// Create a user who logs in to the dashboard with an e-mail and a
    /// password.
    Add {
        /// The e-mail the user logs in with.
        #[arg(long)]
        email: String,
        /// admin, advertiser or affiliate.
        #[arg(long)]
        role: String,
        /// For an advertiser or affiliate user: that partner's id.
        #[arg(long)]
        partner: Option<String>,
        /// Read the password from the first line of standard input instead
        /// of asking for it.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users: id, e-mail, role, partner, created, disabled.
    List,
}

fn password(email: &str, from_stdin: bool) -> Result<String, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("standard input: {e}"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        return Err("no terminal to ask for the password on; pass --password-stdin and write it to standard input".into());
    }
    let first = rpassword::prompt_password(format!("Password for {email}: "))
        .map_err(|e| format!("password: {e}"))?;
    let again = rpassword::prompt_password("The same password again: ")
        .map_err(|e| format!("password: {e}"))?;
    if first != again {
        return Err("the two passwords differ; nothing was created".into());
    }
    Ok(first)
}

pub async fn run(db: &str, action: Action) -> Result<(), String> {
    let store = crate::admin_key::open_existing(db).await?;
    let store = store.as_ref();
    match action {
        Action::Add {
            email,
            role,
            partner,
            password_stdin,
        } => {
            let password = password(&email, password_stdin)?;
            users::check_password(&password).map_err(|e| e.to_string())?;
            let advertisers = store.advertisers().await.map_err(|e| e.to_string())?;
            let affiliates = store.affiliates().await.map_err(|e| e.to_string())?;
            let exists = |r: Role, id: &str| match r {
                Role::Advertiser => advertisers.iter().any(|a| a.id == id),
                Role::Affiliate => affiliates.iter().any(|a| a.id == id),
                Role::Admin => false,
            };
            let new = NewUser {
                email,
                role,
                partner_id: partner,
                password: Some(password),
            };
            let user = users::create(store, &new, exists, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Created user {} ({}, {}); log in at /login with the e-mail and the password.",
                user.id,
                user.email,
                user.role.as_str()
            );
            Ok(())
        }
        Action::List => {
            let list = store.users().await.map_err(|e| e.to_string())?;
            let fields = [
                "id",
                "email",
                "role",
                "partner_id",
                "created_at",
                "disabled",
            ];
            let mut rows = vec![fields.map(String::from).to_vec()];
            for u in &list {
                let v = serde_json::json!(users::view(u));
                rows.push(
                    fields
                        .iter()
                        .map(|f| match &v[f] {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        })
                        .collect(),
                );
            }
            print!("{}", crate::client::table(&rows, fields.len(), false));
            Ok(())
        }
    }
}
