//! The one shape of every error that hands a value back (`channel::SendError`,
//! `channel::TrySendError`, `SendTimeoutError`, `broadcast::SendError`, `watch::SendError`,
//! `QueueShutDown`, `QueueError`): the type owns the rejected message or item, its `Debug` never
//! needs `T: Debug` (it prints `Name(..)` for a variant that carries the value), its `Display`
//! says what happened and what to do, and it is a `std::error::Error`. The two macros below write
//! that once; each type keeps its own name, module and message.

/// A public newtype error `pub struct Name<T>(pub T)` carrying the value back, with
/// `into_inner`, `Debug` (`Name(..)`), `Display` (`$msg`) and `Error`.
macro_rules! value_error {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<T $(= $default:ty)?>(pub T) => $msg:literal;
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name<T $(= $default)?>(pub T);

        impl<T> $name<T> {
            /// The value handed back: the message or item that was not sent or stored.
            pub fn into_inner(self) -> T {
                self.0
            }
        }

        impl<T> ::std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl<T> ::std::fmt::Display for $name<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($msg)
            }
        }

        impl<T> ::std::error::Error for $name<T> {}
    };
}

/// A public error enum whose variants either carry the value back (`Full(T)`) or carry nothing
/// (`Empty`), with `Debug` (`Full(..)`, `Empty`), `Display` (each variant's message) and
/// `Error`. Methods such as `into_inner` stay with each type: their shapes differ.
macro_rules! value_error_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident<T $(= $default:ty)?> {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $(($t:ident))? => $msg:literal,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub enum $name<T $(= $default)?> {
            $(
                $(#[$vmeta])*
                $variant $(($t))?,
            )+
        }

        impl<T> ::std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    $(value_error_enum!(@pat $name $variant $($t)?) => {
                        f.write_str(value_error_enum!(@debug $variant $($t)?))
                    })+
                }
            }
        }

        impl<T> ::std::fmt::Display for $name<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(match self {
                    $(value_error_enum!(@pat $name $variant $($t)?) => $msg,)+
                })
            }
        }

        impl<T> ::std::error::Error for $name<T> {}
    };
    (@pat $name:ident $variant:ident $t:ident) => { $name::$variant(_) };
    (@pat $name:ident $variant:ident) => { $name::$variant };
    (@debug $variant:ident $t:ident) => { concat!(stringify!($variant), "(..)") };
    (@debug $variant:ident) => { stringify!($variant) };
}
