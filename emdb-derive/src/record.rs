//! `#[derive(Record)]`: validates the parsed input and generates the `Record` impl (the key, the
//! table name, the codec and the schema version).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{DeriveInput, GenericArgument, PathArguments, Type};

use crate::attr::{self, Derive, Field, Input};
use crate::case::snake_case;
use crate::errors::Errors;

/// The longest table name: `emdb::MAX_TABLE_NAME_LEN` (a namespace name of at most 255 bytes,
/// less the table namespace prefix). The typed layer checks it again at run time.
const MAX_TABLE_NAME_LEN: usize = 244;

/// The validated input: what the expansion needs and nothing else.
struct Record<'a> {
    input: Input<'a>,
    table: String,
}

impl Record<'_> {
    fn keys(&self) -> impl Iterator<Item = &Field<'_>> {
        self.input.fields.iter().filter(|field| field.opts.key.is_some())
    }
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let parsed = attr::parse(input, Derive::Record, &mut errors);
    let validated = parsed.map(|input| validate(input, &mut errors));
    errors.finish()?;
    Ok(validated.map(|record| expand(&record)).unwrap_or_default())
}

fn validate<'a>(input: Input<'a>, errors: &mut Errors) -> Record<'a> {
    if let Some(group) = &input.opts.group {
        errors.at(
            group.span,
            "`group = ...` names a #[derive(Group)]; name a Record's table with `#[emdb(table = \"...\")]`",
        );
    }
    for field in &input.fields {
        let opts = &field.opts;
        if let Some(span) = opts.index
            && field.ident.is_none()
        {
            errors.at(
                span,
                "a secondary index is named after its field, and this field has no name; index a field of a struct with named fields",
            );
        }
        if let Some(rename) = &opts.rename {
            errors.at(
                rename.span,
                "a Record is stored whole as one value through serde; rename the field with `#[serde(rename = \"...\")]` instead",
            );
        }
        if let Some(span) = opts.default {
            errors.at(
                span,
                "a Record is stored whole as one value through serde; use `#[serde(default)]` instead",
            );
        }
        if let Some(span) = opts.group {
            errors.at(
                span,
                "nested groups are a #[derive(Group)] feature; a Record is stored whole as one value",
            );
        }
    }
    if let Some(previous) = &input.opts.previous
        && input.opts.version.as_ref().is_none_or(|version| version.value < 2)
    {
        errors.at(
            previous.span,
            "`previous` names the type of the version before this one, so the struct needs `version = N` with N of at least 2: `#[emdb(version = 2, previous = \"UserV1\")]`",
        );
    }
    if !input.fields.iter().any(|field| field.opts.key.is_some()) {
        errors.at(
            input.ident.span(),
            format!(
                "#[derive(Record)] needs a key: mark the field that identifies a `{}` with #[emdb(key)] (several key fields make a tuple key, in field order)",
                input.ident
            ),
        );
    }
    let table = match &input.opts.table {
        Some(table) => {
            if table.value.is_empty() {
                errors.at(table.span, "the table name must not be empty");
            } else if table.value.len() > MAX_TABLE_NAME_LEN {
                errors.at(
                    table.span,
                    format!(
                        "the table name is {} bytes long, but table names are at most {MAX_TABLE_NAME_LEN} bytes; shorten it",
                        table.value.len()
                    ),
                );
            }
            table.value.clone()
        }
        None => snake_case(&input.ident.to_string()),
    };
    Record { input, table }
}

fn expand(record: &Record<'_>) -> TokenStream {
    let input = &record.input;
    let krate = attr::krate(&input.opts);
    let codec = attr::codec_path(&input.opts);
    let ident = input.ident;
    let table = &record.table;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let version = input.opts.version.as_ref().map(|version| {
        let value = version.value;
        quote!(const VERSION: u32 = #value;)
    });
    let upgrades = input.opts.previous.as_ref().map(|previous| {
        let ty = &previous.value;
        let from = input.opts.version.as_ref().map_or(0, |version| version.value.saturating_sub(1));
        quote_spanned! {previous.span=>
            fn upgrades(
                options: #krate::TableOptions<Self::Key, Self, Self::Codec>,
            ) -> #krate::TableOptions<Self::Key, Self, Self::Codec> {
                options.with_upgrade(#from, <Self as ::core::convert::From<#ty>>::from)
            }
        }
    });
    let keys: Vec<&Field<'_>> = record.keys().collect();
    let clones = keys.iter().map(|field| {
        let member = &field.member;
        quote_spanned!(field.ty.span()=> ::core::clone::Clone::clone(&self.#member))
    });
    let (key_type, key_value) = if let [field] = keys.as_slice() {
        let ty = field.ty;
        (quote!(#ty), quote!(#(#clones)*))
    } else {
        let types = keys.iter().map(|field| field.ty);
        (quote!((#(#types,)*)), quote!((#(#clones,)*)))
    };
    let (index_fns, declares) = indexes(record, &krate);
    let index_impl = (!index_fns.is_empty()).then(|| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #ident #type_generics #where_clause {
                #(#index_fns)*
            }
        }
    });
    let indexes_fn = (!declares.is_empty()).then(|| {
        quote! {
            fn indexes(
                options: #krate::TableOptions<Self::Key, Self, Self::Codec>,
            ) -> #krate::TableOptions<Self::Key, Self, Self::Codec> {
                options #(.index(#declares))*
            }
        }
    });
    quote! {
        #index_impl
        #[automatically_derived]
        impl #impl_generics #krate::Record for #ident #type_generics #where_clause {
            type Key = #key_type;
            type Codec = #codec;
            const TABLE: &'static str = #table;
            #version
            fn key(&self) -> Self::Key {
                #key_value
            }
            #upgrades
            #indexes_fn
        }
    }
}

/// How a field's values become index values.
enum Many<'a> {
    /// The field itself: one value.
    One(&'a Type),
    /// `Vec<T>`: one value per element.
    Each(&'a Type),
    /// `Option<T>`: the value if `Some`.
    Some(&'a Type),
}

/// Reads `Vec<T>` and `Option<T>` (by the last path segment, as written).
fn many(ty: &Type) -> Many<'_> {
    if let Type::Path(path) = ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let [GenericArgument::Type(inner)] = args.args.iter().collect::<Vec<_>>().as_slice()
    {
        if last.ident == "Vec" {
            return Many::Each(inner);
        }
        if last.ident == "Option" {
            return Many::Some(inner);
        }
    }
    Many::One(ty)
}

/// The `by_<field>()` constructors and the calls that declare them.
fn indexes(record: &Record<'_>, krate: &syn::Path) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let input = &record.input;
    let vis = input.vis;
    let mut fns = Vec::new();
    let mut declares = Vec::new();
    for field in &input.fields {
        let (Some(span), Some(ident)) = (field.opts.index, field.ident) else { continue };
        let name = ident.unraw().to_string();
        let by = format_ident!("by_{}", name, span = ident.span());
        let (value, keys) = match many(field.ty) {
            Many::One(ty) => (ty, quote!(::std::vec![::core::clone::Clone::clone(&row.#ident)])),
            Many::Each(ty) => (ty, quote!(::core::clone::Clone::clone(&row.#ident))),
            Many::Some(ty) => (
                ty,
                quote!(::core::iter::Iterator::collect(::core::iter::Iterator::cloned(
                    ::core::option::Option::iter(&row.#ident)
                ))),
            ),
        };
        let (marker, constructor, kind) = if field.opts.unique {
            (quote!(#krate::Unique), quote!(unique), "unique index")
        } else {
            (quote!(#krate::NonUnique), quote!(non_unique), "index")
        };
        let doc = format!("The secondary {kind} on `{name}`, declared by `#[emdb(index)]`.");
        fns.push(quote_spanned! {span=>
            #[doc = #doc]
            #[allow(dead_code)]
            #vis fn #by() -> #krate::Index<Self, #value, #marker> {
                #krate::Index::#constructor(#name, |row: &Self| #keys)
            }
        });
        declares.push(quote!(Self::#by()));
    }
    (fns, declares)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(input: &DeriveInput) -> String {
        derive(input).unwrap().to_string().replace(' ', "")
    }

    fn error(input: &DeriveInput) -> String {
        derive(input).unwrap_err().into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn one_key_field_is_the_key_and_the_table_defaults_to_the_snake_case_name() {
        let input: DeriveInput = syn::parse_quote! {
            struct UserProfile { #[emdb(key)] id: u64, name: String }
        };
        let out = expand_str(&input);
        assert!(out.contains("typeKey=u64;"), "{out}");
        assert!(out.contains("constTABLE:&'staticstr=\"user_profile\";"), "{out}");
        assert!(out.contains("typeCodec=::emdb::Postcard;"), "{out}");
        assert!(!out.contains("VERSION"), "{out}");
    }

    #[test]
    fn several_key_fields_make_a_tuple_key_in_field_order() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(table = "t", codec = "bincode", version = 4, crate = "my_emdb")]
            struct T { #[emdb(key)] b: String, x: u8, #[emdb(key)] a: u32 }
        };
        let out = expand_str(&input);
        assert!(out.contains("typeKey=(String,u32,);"), "{out}");
        assert!(out.contains("implmy_emdb::RecordforT"), "{out}");
        assert!(out.contains("typeCodec=my_emdb::Bincode;"), "{out}");
        assert!(out.contains("constVERSION:u32=4u32;"), "{out}");
    }

    #[test]
    fn previous_registers_the_from_conversion_as_the_step_from_the_version_before() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(version = 3, previous = "UserV2")]
            struct User { #[emdb(key)] id: u64 }
        };
        let out = expand_str(&input);
        assert!(
            out.contains("options.with_upgrade(2u32,<Selfas::core::convert::From<UserV2>>::from)"),
            "{out}"
        );
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(previous = "UserV0")]
            struct User { #[emdb(key)] id: u64 }
        };
        assert!(error(&input).contains("at least 2"), "{}", error(&input));
    }

    #[test]
    fn a_record_without_a_key_and_with_group_options_reports_every_mistake() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(group = "g")]
            struct T { #[emdb(index)] a: String, #[emdb(rename = "b", default, group)] b: u8 }
        };
        let message = error(&input);
        assert_eq!(message.lines().count(), 5, "{message}");
        let long = "t".repeat(MAX_TABLE_NAME_LEN + 1);
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(table = #long)]
            struct T { #[emdb(key)] a: String }
        };
        assert!(error(&input).contains("at most 244 bytes"));
        assert!(message.contains("needs a key"), "{message}");
    }
}
