//! Typed permissions (`module:action` and `admin`), the scopes an API token may be given, and the
//! check every handler goes through. Below `auth` and `schema`: it imports no other module of holdfast.

use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    Clients,
    Contacts,
    Projects,
    Tasks,
    Time,
    Invoices,
    Documents,
}

impl Module {
    pub const ALL: [Module; 7] = [
        Module::Clients,
        Module::Contacts,
        Module::Projects,
        Module::Tasks,
        Module::Time,
        Module::Invoices,
        Module::Documents,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Module::Clients => "clients",
            Module::Contacts => "contacts",
            Module::Projects => "projects",
            Module::Tasks => "tasks",
            Module::Time => "time",
            Module::Invoices => "invoices",
            Module::Documents => "documents",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    View,
    Create,
    Edit,
    Delete,
    Export,
    Import,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::View,
        Action::Create,
        Action::Edit,
        Action::Delete,
        Action::Export,
        Action::Import,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Create => "create",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Export => "export",
            Action::Import => "import",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Administers the instance: users, groups, policy, logs, integrations. Implies every other permission.
    Admin,
    Module(Module, Action),
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permission::Admin => f.write_str("admin"),
            Permission::Module(m, a) => write!(f, "{}:{}", m.as_str(), a.as_str()),
        }
    }
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "admin" {
            return Ok(Permission::Admin);
        }
        let (m, a) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not a permission: use admin or module:action"))?;
        let module = Module::ALL
            .into_iter()
            .find(|x| x.as_str() == m)
            .ok_or_else(|| format!("unknown module `{m}` in `{s}`"))?;
        let action = Action::ALL
            .into_iter()
            .find(|x| x.as_str() == a)
            .ok_or_else(|| format!("unknown action `{a}` in `{s}`"))?;
        Ok(Permission::Module(module, action))
    }
}

impl Permission {
    /// Every permission there is, in display order.
    pub fn all() -> Vec<Permission> {
        let mut v = vec![Permission::Admin];
        for m in Module::ALL {
            for a in Action::ALL {
                v.push(Permission::Module(m, a));
            }
        }
        v
    }
}

/// What one user (or token) may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(BTreeSet<Permission>);

impl Grants {
    /// Unknown strings in storage are ignored rather than widening access.
    pub fn from_strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Self {
        Self(items.into_iter().filter_map(|s| s.parse().ok()).collect())
    }

    pub fn allows(&self, p: Permission) -> bool {
        self.0.contains(&Permission::Admin) || self.0.contains(&p)
    }

    pub fn is_admin(&self) -> bool {
        self.0.contains(&Permission::Admin)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Permission> {
        self.0.iter()
    }
}

/// Expands scopes (`clients:read`, `projects:write`, or any `module:action`) into permissions.
/// `read` = view and export; `write` = create, edit, delete and import. `admin` is never a scope.
pub fn parse_scopes(text: &str) -> Result<Vec<Permission>, String> {
    let mut out = Vec::new();
    for s in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (m, a) = s.split_once(':').ok_or_else(|| {
            format!("`{s}` is not a scope: use module:read, module:write or module:action")
        })?;
        let module = Module::ALL
            .into_iter()
            .find(|x| x.as_str() == m)
            .ok_or_else(|| format!("unknown module `{m}` in scope `{s}`"))?;
        let actions: Vec<Action> = match a {
            "read" => vec![Action::View, Action::Export],
            "write" => vec![Action::Create, Action::Edit, Action::Delete, Action::Import],
            other => vec![
                Action::ALL
                    .into_iter()
                    .find(|x| x.as_str() == other)
                    .ok_or_else(|| format!("unknown action `{other}` in scope `{s}`"))?,
            ],
        };
        out.extend(actions.into_iter().map(|a| Permission::Module(module, a)));
    }
    if out.is_empty() {
        return Err("give at least one scope, e.g. clients:read".into());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        let p: Permission = "clients:view".parse().unwrap();
        assert_eq!(p.to_string(), "clients:view");
        assert!("clients:fly".parse::<Permission>().is_err());
        assert!("rockets:view".parse::<Permission>().is_err());
        let g = Grants::from_strings(&["clients:view".to_string(), "junk".to_string()]);
        assert!(g.allows(p));
        assert!(!g.allows("clients:delete".parse().unwrap()));
        assert!(!g.allows(Permission::Admin));
        let admin = Grants::from_strings(&["admin".to_string()]);
        assert!(admin.allows("invoices:import".parse().unwrap()));
        assert_eq!(Permission::all().len(), 1 + 7 * 6);
    }

    #[test]
    fn scopes_expand_and_refuse_admin() {
        let p = parse_scopes("clients:read, projects:write").unwrap();
        let s: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert!(
            s.contains(&"clients:view".to_string()) && s.contains(&"clients:export".to_string())
        );
        assert!(
            s.contains(&"projects:delete".to_string())
                && s.contains(&"projects:import".to_string())
        );
        assert!(!s.contains(&"clients:edit".to_string()));
        assert!(parse_scopes("admin").is_err());
        assert!(parse_scopes("clients:fly").is_err());
        assert!(parse_scopes("").is_err());
    }
}
