//! `#[weft::main]` and `#[weft::test]`.
//!
//! Use them through the facade (`#[weft::main]`, `#[weft::test]`); the generated code names
//! `::weft::run` and `::weft::Runtime` unless `crate = "path"` says otherwise.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, ReturnType, Token};

/// Runs an `async fn main` on weft.
///
/// * `#[weft::main]`: `weft::run(body)` (a multi-threaded runtime with default settings; leftover
///   tasks are cancelled when `main`'s body returns).
/// * `#[weft::main(worker_threads = 4)]`: a runtime with that many workers.
/// * `crate = "path"`: where to find weft (default `::weft`).
///
/// ```ignore
/// #[weft::main]
/// async fn main() {
///     let t = weft::spawn(async { 1 });
///     assert_eq!(t.await.unwrap(), 1);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Runs an `async fn` test on weft.
///
/// * Default: a single-threaded `LocalRuntime` (so `start_paused` auto-advance is sound, and
///   `weft::spawn` and `weft::spawn_local` both work).
/// * `start_paused = true`: a paused virtual clock; sleeps complete instantly when every task is
///   idle.
/// * `worker_threads = n`: a multi-threaded runtime with `n` workers instead.
/// * `crate = "path"`: where to find weft (default `::weft`).
///
/// ```ignore
/// #[weft::test(start_paused = true)]
/// async fn an_hour_passes_instantly() {
///     weft::sleep(std::time::Duration::from_secs(3600)).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[weft::main]",
            Kind::Test => "#[weft::test]",
        }
    }
}

struct Options {
    worker_threads: Option<syn::LitInt>,
    start_paused: Option<syn::LitBool>,
    krate: syn::Path,
}

fn parse_options(kind: Kind, attr: TokenStream2) -> syn::Result<Options> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr)?;
    let mut o = Options {
        worker_threads: None,
        start_paused: None,
        krate: syn::parse_quote!(::weft),
    };
    for arg in args {
        let name = arg
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let lit = match &arg.value {
            Expr::Lit(ExprLit { lit, .. }) => lit.clone(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    format!("{}: option values must be literals", kind.name()),
                ))
            }
        };
        match (name.as_str(), lit) {
            ("worker_threads", Lit::Int(i)) => {
                if i.base10_parse::<usize>()? == 0 {
                    return Err(syn::Error::new(
                        i.span(),
                        "worker_threads must be at least 1",
                    ));
                }
                o.worker_threads = Some(i);
            }
            ("worker_threads", l) => {
                return Err(syn::Error::new(
                    l.span(),
                    "worker_threads expects an integer, e.g. `worker_threads = 2`",
                ))
            }
            ("start_paused", Lit::Bool(b)) if kind == Kind::Test => o.start_paused = Some(b),
            ("start_paused", l) if kind == Kind::Test => {
                return Err(syn::Error::new(
                    l.span(),
                    "start_paused expects a bool, e.g. `start_paused = true`",
                ))
            }
            ("crate", Lit::Str(s)) => o.krate = s.parse()?,
            ("crate", l) => {
                return Err(syn::Error::new(
                    l.span(),
                    "crate expects a string path, e.g. `crate = \"weft\"`",
                ))
            }
            _ => {
                let allowed = match kind {
                    Kind::Main => "`worker_threads`, `crate`",
                    Kind::Test => "`worker_threads`, `start_paused`, `crate`",
                };
                return Err(syn::Error::new(
                    arg.path.span(),
                    format!(
                        "unknown {} option `{}`; expected one of {allowed}",
                        kind.name(),
                        arg.path
                            .get_ident()
                            .map(|i| i.to_string())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(o)
}

fn expand(kind: Kind, attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let opts = parse_options(kind, attr)?;
    let f: ItemFn = syn::parse2(item)?;
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            format!(
                "{}: the `async` keyword is missing from the function declaration",
                kind.name()
            ),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new(
            f.sig.inputs.span(),
            format!("{}: the function must take no arguments", kind.name()),
        ));
    }
    if !f.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            f.sig.generics.span(),
            format!("{}: the function must not be generic", kind.name()),
        ));
    }
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = f;
    let name = &sig.ident;
    let ret = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, t) => quote!(#t),
    };
    let output = &sig.output;
    let krate = &opts.krate;
    let span = block.span();
    let paused = opts.start_paused.as_ref().map(|b| b.value).unwrap_or(false);
    let body = quote_spanned! {span=>
        let body: ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = #ret>>> =
            ::std::boxed::Box::pin(async move #block);
    };
    let run = match (kind, &opts.worker_threads) {
        (Kind::Main, None) => quote! { #krate::run(body) },
        (Kind::Main, Some(n)) => quote! {
            #krate::Runtime::builder()
                .worker_threads(#n)
                .build()
                .expect("#[weft::main]: cannot start the runtime")
                .block_on(body)
        },
        (Kind::Test, None) => quote! {
            #krate::Runtime::builder()
                .start_paused(#paused)
                .build_local()
                .expect("#[weft::test]: cannot start the runtime")
                .block_on(body)
        },
        (Kind::Test, Some(n)) => quote! {
            #krate::Runtime::builder()
                .worker_threads(#n)
                .start_paused(#paused)
                .build()
                .expect("#[weft::test]: cannot start the runtime")
                .block_on(body)
        },
    };
    let test_attr = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => quote!(),
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis fn #name() #output {
            #body
            #run
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{expand, Kind};

    fn err(kind: Kind, attr: &str, item: &str) -> String {
        expand(kind, attr.parse().unwrap(), item.parse().unwrap())
            .unwrap_err()
            .to_string()
    }

    fn ok(kind: Kind, attr: &str, item: &str) -> String {
        expand(kind, attr.parse().unwrap(), item.parse().unwrap())
            .unwrap()
            .to_string()
    }

    #[::core::prelude::v1::test]
    fn non_async_is_an_error() {
        let e = err(Kind::Test, "", "fn t() {}");
        assert!(e.contains("`async` keyword is missing"), "{e}");
        let e = err(Kind::Main, "", "fn main() {}");
        assert!(e.contains("#[weft::main]"), "{e}");
    }

    #[::core::prelude::v1::test]
    fn unknown_option_is_an_error() {
        let e = err(Kind::Test, "flavor = \"x\"", "async fn t() {}");
        assert!(e.contains("unknown #[weft::test] option `flavor`"), "{e}");
        let e = err(Kind::Main, "start_paused = true", "async fn main() {}");
        assert!(
            e.contains("unknown #[weft::main] option `start_paused`"),
            "{e}"
        );
        let e = err(Kind::Test, "worker_threads = 0", "async fn t() {}");
        assert!(e.contains("at least 1"), "{e}");
        let e = err(Kind::Test, "start_paused = 1", "async fn t() {}");
        assert!(e.contains("expects a bool"), "{e}");
    }

    #[::core::prelude::v1::test]
    fn arguments_are_an_error() {
        let e = err(Kind::Test, "", "async fn t(x: u8) {}");
        assert!(e.contains("no arguments"), "{e}");
    }

    #[::core::prelude::v1::test]
    fn expansions() {
        let s = ok(Kind::Main, "", "async fn main() { f().await }");
        assert!(s.contains(":: weft :: run (body)"), "{s}");
        let s = ok(Kind::Main, "worker_threads = 3", "async fn main() {}");
        assert!(s.contains("worker_threads (3)"), "{s}");
        let s = ok(
            Kind::Test,
            "start_paused = true",
            "#[ignore] async fn t() {}",
        );
        assert!(s.contains("start_paused (true)"), "{s}");
        assert!(s.contains("build_local"), "{s}");
        assert!(s.contains("test"), "{s}");
        assert!(s.contains("ignore"), "{s}");
        let s = ok(
            Kind::Test,
            "crate = \"my::weft\"",
            "async fn t() -> Result<(), E> { Ok(()) }",
        );
        assert!(s.contains("my :: weft :: Runtime"), "{s}");
        assert!(s.contains("Output = Result < () , E >"), "{s}");
    }
}
