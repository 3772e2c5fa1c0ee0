//! JSON endpoints, the one table they are served and documented from, and the resource shape
//! they share: with and without the trailing slash, 405 (with `Allow`) for other methods.

pub mod auth;
pub mod health;
pub mod openapi;
pub mod password_reset;
pub mod schemas;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, Resource, Route};
use serde_json::json;
use utoipa::openapi::path::{HttpMethod, Operation};

use super::ApiError;

/// Unknown paths answer JSON like every other API error (DRF's wording).
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::detail(StatusCode::NOT_FOUND, "Not found."))
}

/// Every API endpoint, by mount point: the one table both the router ([`routes`]) and the
/// OpenAPI document ([`openapi::document`]) are built from, so no endpoint can be served
/// undocumented or documented unserved.
///
/// Adding an endpoint is one line in its module's `endpoints()`:
/// `Endpoint::new(__path_handler, handler)`, after annotating the handler with
/// `#[utoipa::path(method, path = "/relative", …)]` (see `auth.rs`); a new module is one line
/// here. Schemas its annotation names go in [`openapi::ApiDoc`]'s `components(...)` (the
/// OpenAPI test fails on a dangling reference).
pub fn catalog() -> Vec<(&'static str, Vec<Endpoint>)> {
    vec![
        ("/api/password_reset", password_reset::endpoints()),
        ("/api/auth", auth::endpoints()),
        ("/api", openapi::endpoints()),
    ]
}

/// Registers every endpoint of [`catalog`] inside the `/api` scope (which carries CORS and
/// the API's JSON 404), so the mount points lose their `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let inside_scope = catalog()
        .into_iter()
        .map(|(mount, endpoints)| (mount.strip_prefix("/api").unwrap_or(mount), endpoints))
        .collect();
    mount(cfg, inside_scope);
}

/// Registers the endpoints of `table`: one resource per path and its slash twin, with one
/// route per documented method (several endpoints may share a path, e.g. a GET and a DELETE).
fn mount(cfg: &mut web::ServiceConfig, table: Vec<(&'static str, Vec<Endpoint>)>) {
    let mut by_path: Vec<(String, Vec<Endpoint>)> = Vec::new();
    for (mount, endpoints) in table {
        for endpoint in endpoints {
            let path = format!("{mount}{}", endpoint.path);
            match by_path.iter_mut().find(|(known, _)| *known == path) {
                Some((_, group)) => group.push(endpoint),
                None => by_path.push((path, vec![endpoint])),
            }
        }
    }
    for (path, group) in by_path {
        let with_slash = if path.ends_with('/') {
            path.clone()
        } else {
            format!("{path}/")
        };
        let bare = with_slash.trim_end_matches('/');
        let bare = if bare.is_empty() { "/" } else { bare };
        cfg.service(one_path(&with_slash, &group))
            .service(one_path(bare, &group));
    }
}

/// One API operation: its path below its mount point, its methods, its OpenAPI description,
/// and how to make the actix route that serves it.
pub struct Endpoint {
    path: String,
    methods: Vec<HttpMethod>,
    operation: Operation,
    route: Box<dyn Fn(Method) -> Route>,
}

impl Endpoint {
    /// `handler` served where its `#[utoipa::path]` annotation (`doc`, the `__path_<handler>`
    /// type the macro generates) says, and described as it says: path and method are read
    /// from the annotation, never written twice.
    pub fn new<P, F, Args>(doc: P, handler: F) -> Self
    where
        P: utoipa::Path,
        F: actix_web::Handler<Args>,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        let _ = doc;
        Self {
            path: P::path(),
            methods: P::methods(),
            operation: P::operation(),
            route: Box::new(move |method| web::route().method(method).to(handler.clone())),
        }
    }

    /// The path below the mount point, as annotated (`/login`, `/confirm/`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Adds this operation to `paths` under `mount`.
    pub fn document(&self, mount: &str, paths: &mut utoipa::openapi::Paths) {
        paths.add_path_operation(
            format!("{mount}{}", self.path),
            self.methods.clone(),
            self.operation.clone(),
        );
    }
}

/// A path's resource: the routes of every endpoint at it, `OPTIONS` answered with `Allow`,
/// and 405 (with `Allow`) for every other method.
///
/// Static resources (one per path form) rather than one with two patterns: actix matches a
/// multi-pattern resource with a regex on every request, which was a tenth of the server's
/// CPU when each request comes on its own connection. The slash-less form is served directly
/// rather than redirected (a redirect would turn a POST into a GET).
fn one_path(pattern: &str, group: &[Endpoint]) -> Resource {
    let methods: Vec<Method> = group
        .iter()
        .flat_map(|endpoint| endpoint.methods.iter().map(actix_method))
        .collect();
    let allow = methods
        .iter()
        .map(Method::as_str)
        .chain(["OPTIONS"])
        .collect::<Vec<_>>()
        .join(", ");
    let mut resource = web::resource(pattern);
    for endpoint in group {
        for method in &endpoint.methods {
            resource = resource.route((endpoint.route)(actix_method(method)));
        }
    }
    let (options_allow, refused_allow) = (allow.clone(), allow);
    resource
        .route(
            web::route()
                .method(Method::OPTIONS)
                .to(move || options(options_allow.clone())),
        )
        .default_service(web::to(move |req: HttpRequest| {
            method_not_allowed(req, refused_allow.clone())
        }))
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

async fn options(allow: String) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, allow))
        .finish()
}

async fn method_not_allowed(req: HttpRequest, allow: String) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "detail": format!("Method \"{}\" not allowed.", req.method()) }))
}

/// `200 {"status": "OK"}`: the package's success body.
pub fn status_ok() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "status": "OK" }))
}

#[cfg(test)]
mod tests {
    use actix_web::{test, App};

    use super::*;

    /// A listing, as a GET.
    #[utoipa::path(get, path = "/things", responses((status = 200, description = "listed")))]
    async fn list() -> HttpResponse {
        HttpResponse::Ok().body("list")
    }

    /// A removal at the same path, as a DELETE.
    #[utoipa::path(delete, path = "/things", responses((status = 204, description = "gone")))]
    async fn remove() -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    fn table() -> Vec<(&'static str, Vec<Endpoint>)> {
        vec![(
            "/api/t",
            vec![
                Endpoint::new(__path_list, list),
                Endpoint::new(__path_remove, remove),
            ],
        )]
    }

    #[actix_web::test]
    async fn endpoints_sharing_a_path_share_one_resource_and_one_allow() {
        let app = test::init_service(App::new().configure(|cfg| mount(cfg, table()))).await;
        for path in ["/api/t/things", "/api/t/things/"] {
            let got = test::call_service(&app, test::TestRequest::get().uri(path).to_request());
            assert_eq!(got.await.status(), StatusCode::OK, "GET {path}");
            let gone = test::TestRequest::delete().uri(path).to_request();
            assert_eq!(
                test::call_service(&app, gone).await.status(),
                StatusCode::NO_CONTENT
            );
            let refused = test::TestRequest::put().uri(path).to_request();
            let refused = test::call_service(&app, refused).await;
            assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(
                refused.headers().get(header::ALLOW).unwrap(),
                "GET, DELETE, OPTIONS"
            );
        }

        let mut paths = utoipa::openapi::Paths::new();
        for (mount, endpoints) in table() {
            endpoints.iter().for_each(|e| e.document(mount, &mut paths));
        }
        let item = &paths.paths["/api/t/things"];
        assert!(item.get.is_some() && item.delete.is_some() && item.post.is_none());
    }
}
