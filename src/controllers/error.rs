//! Errors of a reconcile. They are logged and retried with backoff; their class is a metric label.

use kube::runtime::finalizer;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error("cannot encode the status: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the object has no namespace")]
    NoNamespace,
    #[error("the system random number generator failed")]
    Random,
}

impl Error {
    /// The `error` label of `reconcile_errors_total`.
    pub fn class(&self) -> &'static str {
        match self {
            Error::Kube(_) => "api",
            Error::Finalizer(inner) => match inner.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.class(),
                _ => "finalizer",
            },
            Error::Encode(_) => "encode",
            Error::NoNamespace => "invalid_object",
            Error::Random => "random",
        }
    }
}

impl From<finalizer::Error<Error>> for Error {
    fn from(error: finalizer::Error<Error>) -> Self {
        Error::Finalizer(Box::new(error))
    }
}
