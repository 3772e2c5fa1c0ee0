//! What every page's layout needs from the configuration: the path Latchkey is served under
//! (every link, form action and asset goes through [`Site::link`]), the product's name, and
//! whether a theme stylesheet is linked.

use crate::config::Config;

/// The layout's view of the deployment; each page template carries one as `site`.
#[derive(Debug, Clone)]
pub struct Site {
    prefix: String,
    name: String,
    themed: bool,
}

impl Site {
    /// The site of this configuration.
    pub fn of(config: &Config) -> Self {
        Self {
            prefix: config.public_url.prefix().to_owned(),
            name: config.product.product_name.clone(),
            themed: config.product.theme_css.is_some(),
        }
    }

    /// Latchkey's own defaults (served at the root, named Latchkey, no theme): only for a
    /// page rendered where no configuration is at hand, which the page middleware re-renders.
    pub fn fallback() -> Self {
        Self {
            prefix: String::new(),
            name: "Latchkey".to_owned(),
            themed: false,
        }
    }

    /// `path` (starting with `/`) under the path Latchkey is served at: `/login` becomes
    /// `/auth/login` when the public URL is `https://example.com/auth`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path)
    }

    /// The product's name, for titles and the header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `/static/theme.css` exists and is linked after the built-in stylesheet.
    pub fn themed(&self) -> bool {
        self.themed
    }
}
