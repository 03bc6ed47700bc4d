//! Pages of the shell: the instance's landing page and the error page.

use super::{CurrentInstance, WebError, assets};
use askama::Template;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub reason: &'static str,
    pub message: &'static str,
    pub assets: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    title: String,
    instance: String,
    version: &'static str,
    assets: String,
}

pub async fn home(CurrentInstance(instance): CurrentInstance) -> Result<Response, WebError> {
    let page = HomePage {
        title: instance.title().await?,
        instance: instance.name.clone(),
        version: env!("CARGO_PKG_VERSION"),
        assets: assets::base(),
    };
    render(&page)
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}

pub fn render(page: &impl Template) -> Result<Response, WebError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| WebError::Internal(format!("template: {e}")))
}
