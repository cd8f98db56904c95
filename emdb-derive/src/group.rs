//! `#[derive(Group)]` and `#[derive(GroupFields)]`: validate the parsed input and generate the
//! trait impl (write and read every field by its on-disk name) and the typed focus struct (one
//! method per field).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{DeriveInput, Ident, Type};

use crate::attr::{self, Derive, Field, Input, Style};
use crate::case::snake_case;
use crate::errors::Errors;

/// How a validated field is stored.
enum Stored {
    /// The key: the path segment, not an entry.
    Key,
    /// One entry.
    Value,
    /// A sub-group of entries (`#[emdb(group)]`).
    Nested,
}

/// A validated field.
struct GroupField<'a> {
    field: &'a Field<'a>,
    /// The on-disk name (the field name or its `rename`).
    name: String,
    stored: Stored,
}

/// The validated input.
struct Group<'a> {
    input: &'a Input<'a>,
    derive: Derive,
    /// The group name (for `Group` only).
    name: String,
    fields: Vec<GroupField<'a>>,
}

pub(crate) fn derive(input: &DeriveInput, derive: Derive) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let parsed = attr::parse(input, derive, &mut errors);
    let validated = parsed.as_ref().map(|input| validate(input, derive, &mut errors));
    errors.finish()?;
    Ok(validated.map(|group| expand(&group)).unwrap_or_default())
}

/// Whether `ty` is spelled `String` (or `std::string::String`, `alloc::string::String`).
fn is_string(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<String> =
        path.path.segments.iter().map(|segment| segment.ident.to_string()).collect();
    let plain = path.path.segments.iter().all(|segment| segment.arguments.is_none());
    plain
        && matches!(
            segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
            ["String"] | ["std" | "alloc", "string", "String"]
        )
}

/// The error for a name that is not one path segment, or `None` if it is one.
fn bad_segment(name: &str, what: &str) -> Option<String> {
    if name.is_empty() {
        Some(format!("the {what} must not be empty"))
    } else if name.contains('.') {
        Some(format!(
            "the {what} {name:?} must not contain '.', which separates the segments of a stored key"
        ))
    } else {
        None
    }
}

fn validate<'a>(input: &'a Input<'a>, derive: Derive, errors: &mut Errors) -> Group<'a> {
    let name = derive.name();
    let keyed = derive == Derive::Group;
    if input.style != Style::Named {
        errors.at(
            input.ident.span(),
            format!(
                "#[derive({name})] needs a struct with named fields: each field is stored as one entry named after it, and a {} has no field names; write `struct {} {{ field: Type }}`",
                if input.style == Style::Tuple { "tuple struct" } else { "unit struct" },
                input.ident,
            ),
        );
    }
    if let Some(param) = input.generics.params.first() {
        errors.at(
            param.span(),
            format!(
                "#[derive({name})] does not support generic parameters; derive it on a struct with concrete field types"
            ),
        );
    }
    if let Some(previous) = &input.opts.previous {
        errors.at(
            previous.span,
            "`previous` names the type a #[derive(Record)]'s previous version upgrades from; a group stores each field on its own, and a field missing on load takes `#[emdb(default)]`",
        );
    }
    if let Some(table) = &input.opts.table {
        errors.at(
            table.span,
            format!(
                "`table = ...` names a #[derive(Record)]'s table; {}",
                if keyed {
                    "name a group with `#[emdb(group = \"...\")]`"
                } else {
                    "a GroupFields type is stored under its parent's field name"
                }
            ),
        );
    }
    let group_name = match &input.opts.group {
        Some(group) if !keyed => {
            errors.at(
                group.span,
                "a GroupFields type is stored under its parent's field name and has no group name of its own; remove `group = ...`, or derive Group for a top-level group",
            );
            String::new()
        }
        Some(group) => {
            if group.value.is_empty() || group.value.split('.').any(str::is_empty) {
                errors.at(
                    group.span,
                    format!(
                        "invalid group name {:?}: it must be non-empty, without empty segments (no leading, trailing or doubled '.')",
                        group.value
                    ),
                );
            }
            group.value.clone()
        }
        None => snake_case(&input.ident.to_string()),
    };
    let fields: Vec<GroupField<'a>> =
        input.fields.iter().map(|field| validate_field(field, derive, errors)).collect();
    let key_count = fields.iter().filter(|field| matches!(field.stored, Stored::Key)).count();
    if keyed && key_count == 0 && input.style == Style::Named {
        errors.at(
            input.ident.span(),
            format!(
                "#[derive(Group)] needs exactly one key field: mark the `String` field that names each `{}` (the `<key>` in `{group_name}.<key>.<field>`) with #[emdb(key)]",
                input.ident
            ),
        );
    }
    for extra in fields.iter().filter(|field| matches!(field.stored, Stored::Key)).skip(1) {
        errors.at(
            extra.field.opts.key.unwrap_or_else(|| extra.field.span()),
            format!(
                "#[derive(Group)] takes exactly one `String` key, the `<key>` path segment; remove #[emdb(key)] from `{}`, or use #[derive(Record)] for a tuple key",
                extra.name
            ),
        );
    }
    check_unique_names(&fields, errors);
    Group { input, derive, name: group_name, fields }
}

fn validate_field<'a>(field: &'a Field<'a>, derive: Derive, errors: &mut Errors) -> GroupField<'a> {
    let opts = &field.opts;
    let name = match (&opts.rename, field.ident) {
        (Some(rename), _) => {
            if let Some(message) = bad_segment(&rename.value, "field name") {
                errors.at(rename.span, message);
            }
            rename.value.clone()
        }
        (None, Some(ident)) => ident.unraw().to_string(),
        (None, None) => field.member_name(),
    };
    if let Some(span) = opts.index {
        errors.at(span, crate::INDEX_ON_GROUP);
    }
    let stored = if let Some(key) = opts.key {
        if derive == Derive::GroupFields {
            errors.at(
                key,
                "a GroupFields type is stored inside its parent's group and has no key of its own; remove #[emdb(key)], or derive Group for a top-level group",
            );
        } else if !is_string(field.ty) {
            errors.at(
                field.ty.span(),
                "a Group key must be a `String`: it is the `<key>` path segment of every stored field; keep other ids in a String field (`id.to_string()`)",
            );
        }
        for (option, span) in [
            ("rename", opts.rename.as_ref().map(|rename| rename.span)),
            ("default", opts.default),
            ("group", opts.group),
        ] {
            if let Some(span) = span {
                errors.at(
                    span,
                    format!(
                        "the key is the path segment, not a stored field; remove `{option}` from it"
                    ),
                );
            }
        }
        Stored::Key
    } else if opts.group.is_some() {
        Stored::Nested
    } else {
        Stored::Value
    };
    GroupField { field, name, stored }
}

/// Reports fields stored under the same on-disk name.
fn check_unique_names(fields: &[GroupField<'_>], errors: &mut Errors) {
    let stored = fields.iter().filter(|field| !matches!(field.stored, Stored::Key));
    for (index, field) in stored.clone().enumerate() {
        if stored.clone().take(index).any(|earlier| earlier.name == field.name) {
            let span =
                field.field.opts.rename.as_ref().map_or_else(|| field.field.span(), |r| r.span);
            errors.at(
                span,
                format!(
                    "two fields are stored under the name {:?}; give one another name with #[emdb(rename = \"...\")]",
                    field.name
                ),
            );
        }
    }
}

/// The generated pieces of code for every field.
#[derive(Default)]
struct FieldCode {
    /// Statements of `write_fields`.
    writes: Vec<TokenStream>,
    /// `member: value,` initializers of `read_fields`.
    reads: Vec<TokenStream>,
    /// Methods of the focus struct.
    accessors: Vec<TokenStream>,
}

fn expand(group: &Group<'_>) -> TokenStream {
    let input = group.input;
    let ident = input.ident;
    let focus = format_ident!("{}Focus", ident.unraw(), span = ident.span());
    let code = expand_fields(group);
    let trait_impl = expand_trait(group, &focus, &code);
    let focus_struct = expand_focus(group, &focus, &code.accessors);
    quote! {
        #trait_impl
        #focus_struct
    }
}

fn expand_fields(group: &Group<'_>) -> FieldCode {
    let opts = &group.input.opts;
    let krate = attr::krate(opts);
    let codec = attr::codec_path(opts);
    let version = opts.version.as_ref().map_or(1, |version| version.value);
    let mut code = FieldCode::default();
    for field in &group.fields {
        let GroupField { field: Field { member, ty, vis, opts, .. }, name, stored } = field;
        let defaulted = opts.default.is_some();
        let span = ty.span();
        match stored {
            Stored::Key => code.reads.push(quote!(#member: key,)),
            Stored::Value => {
                code.writes.push(quote_spanned! {span=>
                    fields.field::<_, #codec>(#name, #version, &self.#member)?;
                });
                let read = if defaulted {
                    quote_spanned!(span=> fields.field_or_default::<_, #codec>(#name, #version)?)
                } else {
                    quote_spanned!(span=> fields.field::<_, #codec>(#name, #version)?)
                };
                code.reads.push(quote!(#member: #read,));
                let doc = format!("The stored field `{name}`, read and written on its own.");
                code.accessors.push(quote! {
                    #[doc = #doc]
                    #[must_use]
                    #vis fn #member(&self) -> #krate::FieldFocus<#ty, #codec> {
                        self.0.field(#name, #version)
                    }
                });
            }
            Stored::Nested => {
                code.writes.push(quote_spanned!(span=> fields.group(#name, &self.#member)?;));
                let read = if defaulted {
                    quote_spanned!(span=> fields.group_or_default::<#ty>(#name)?)
                } else {
                    quote_spanned!(span=> fields.group::<#ty>(#name)?)
                };
                code.reads.push(quote!(#member: #read,));
                let doc = format!("The nested group `{name}`: a focus on its fields.");
                let focus_type = quote_spanned!(span=> <#ty as #krate::GroupFields>::Focus);
                code.accessors.push(quote! {
                    #[doc = #doc]
                    #[must_use]
                    #vis fn #member(&self) -> #focus_type {
                        ::core::convert::From::from(self.0.child(#name))
                    }
                });
            }
        }
    }
    code
}

fn expand_trait(group: &Group<'_>, focus: &Ident, code: &FieldCode) -> TokenStream {
    let opts = &group.input.opts;
    let krate = attr::krate(opts);
    let codec = attr::codec_path(opts);
    let version = opts.version.as_ref().map_or(1, |version| version.value);
    let ident = group.input.ident;
    let FieldCode { writes, reads, .. } = code;
    // Keep `fields` used when there is nothing to write or read.
    let use_writer = writes.is_empty().then(|| quote!(let _ = fields;));
    let use_reader = group
        .fields
        .iter()
        .all(|field| matches!(field.stored, Stored::Key))
        .then(|| quote!(let _ = fields;));
    let write_fields = quote! {
        fn write_fields(&self, fields: &mut #krate::FieldWriter) -> #krate::Result<()> {
            #use_writer
            #(#writes)*
            ::core::result::Result::Ok(())
        }
    };
    if group.derive == Derive::GroupFields {
        return quote! {
            #[automatically_derived]
            impl #krate::GroupFields for #ident {
                type Codec = #codec;
                type Focus = #focus;
                const VERSION: u32 = #version;
                #write_fields
                fn read_fields(fields: &#krate::FieldReader<'_>) -> #krate::Result<Self> {
                    #use_reader
                    ::core::result::Result::Ok(Self { #(#reads)* })
                }
            }
        };
    }
    let name = &group.name;
    // `String::as_str`, not `&self.key`: a plain field access in a method called `key` reads as a
    // misnamed getter to clippy when the struct also has a field called `key`.
    let key = group.fields.iter().find(|field| matches!(field.stored, Stored::Key)).map(|field| {
        let member = &field.field.member;
        quote_spanned!(field.field.ty.span()=> ::std::string::String::as_str(&self.#member))
    });
    quote! {
        #[automatically_derived]
        impl #krate::Group for #ident {
            const GROUP: &'static str = #name;
            type Codec = #codec;
            type Focus = #focus;
            const VERSION: u32 = #version;
            fn key(&self) -> &str {
                #key
            }
            #write_fields
            fn read_fields(
                key: ::std::string::String,
                fields: &#krate::FieldReader<'_>,
            ) -> #krate::Result<Self> {
                #use_reader
                ::core::result::Result::Ok(Self { #(#reads)* })
            }
        }
    }
}

fn expand_focus(group: &Group<'_>, focus: &Ident, accessors: &[TokenStream]) -> TokenStream {
    let krate = attr::krate(&group.input.opts);
    let ident = group.input.ident;
    let vis = group.input.vis;
    let made_by = if group.derive == Derive::Group {
        format!("Made by `{ident}::focus(&db, key)`, on `{}.<key>`.", group.name)
    } else {
        format!("Made by the focus method of a field of type `{ident}` in a parent group.")
    };
    let doc = format!(
        "A typed focus on one stored [`{ident}`]: one method per field, each reading and writing that field alone. {made_by}"
    );
    let focus_name = focus.to_string();
    quote! {
        #[doc = #doc]
        // A tuple struct: its one field can clash with no method named after a user's field.
        #vis struct #focus(#krate::GroupPath);

        #[automatically_derived]
        impl ::core::convert::From<#krate::GroupPath> for #focus {
            fn from(path: #krate::GroupPath) -> Self {
                Self(path)
            }
        }

        #[automatically_derived]
        impl ::core::convert::AsRef<#krate::GroupPath> for #focus {
            fn as_ref(&self) -> &#krate::GroupPath {
                &self.0
            }
        }

        #[automatically_derived]
        impl ::core::clone::Clone for #focus {
            fn clone(&self) -> Self {
                Self(::core::clone::Clone::clone(&self.0))
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Debug for #focus {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple(#focus_name).field(&self.0.path()).finish()
            }
        }

        // A method the user never calls is no mistake of theirs.
        #[allow(dead_code)]
        impl #focus {
            #(#accessors)*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: &DeriveInput, derive_kind: Derive) -> Vec<String> {
        derive(input, derive_kind).unwrap_err().into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_group_writes_every_field_but_the_key_under_its_name() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(group = "product", codec = "json", version = 2)]
            pub struct Product {
                #[emdb(key)] pub sku: String,
                #[emdb(rename = "title")] name: String,
                #[emdb(default)] price: u32,
                #[emdb(group)] dims: Dims,
            }
        };
        let out = derive(&input, Derive::Group).unwrap().to_string().replace(' ', "");
        assert!(out.contains("constGROUP:&'staticstr=\"product\";"), "{out}");
        assert!(
            out.contains("fields.field::<_,::emdb::Json>(\"title\",2u32,&self.name)?;"),
            "{out}"
        );
        assert!(out.contains("price:fields.field_or_default::<_,::emdb::Json>(\"price\",2u32)?"));
        assert!(out.contains("fields.group(\"dims\",&self.dims)?;"), "{out}");
        assert!(out.contains("sku:key,"), "{out}");
        assert!(!out.contains("\"sku\""), "the key is not stored: {out}");
        assert!(out.contains("pubstructProductFocus"), "{out}");
        assert!(out.contains("fnname(&self)->::emdb::FieldFocus<String,::emdb::Json>"), "{out}");
        assert!(out.contains("fndims(&self)-><Dimsas::emdb::GroupFields>::Focus"), "{out}");
    }

    #[test]
    fn a_group_key_must_be_one_string_field() {
        let none: DeriveInput = syn::parse_quote!(
            struct P {
                a: u32,
            }
        );
        assert!(errors(&none, Derive::Group)[0].contains("needs exactly one key field"));
        let two: DeriveInput = syn::parse_quote!(
            struct P {
                #[emdb(key)]
                a: String,
                #[emdb(key)]
                b: String,
            }
        );
        let two = errors(&two, Derive::Group);
        assert_eq!(two.len(), 1);
        assert!(two[0].contains("exactly one `String` key") && two[0].contains("Record"));
        let number: DeriveInput = syn::parse_quote!(
            struct P {
                #[emdb(key)]
                a: u64,
            }
        );
        assert!(errors(&number, Derive::Group)[0].contains("must be a `String`"));
        let qualified: DeriveInput = syn::parse_quote!(
            struct P {
                #[emdb(key)]
                a: std::string::String,
            }
        );
        assert!(derive(&qualified, Derive::Group).is_ok());
    }

    #[test]
    fn on_disk_names_must_be_distinct_segments() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(group = "a..b")]
            struct P {
                #[emdb(key)] k: String,
                a: u8,
                #[emdb(rename = "a")] b: u8,
                #[emdb(rename = "x.y")] c: u8,
                #[emdb(rename = "")] d: u8,
            }
        };
        let all = errors(&input, Derive::Group);
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(all[0].contains("invalid group name"));
        assert!(all[1].contains("must not contain '.'"));
        assert!(all[2].contains("must not be empty"));
        assert!(all[3].contains("two fields are stored under the name \"a\""));
    }

    #[test]
    fn group_fields_have_no_key_and_no_group_name() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(group = "g", table = "t")]
            struct Dims { #[emdb(key)] w: String }
        };
        let all = errors(&input, Derive::GroupFields);
        assert_eq!(all.len(), 3, "{all:#?}");
        let tuple: DeriveInput = syn::parse_quote!(
            struct Dims(u32);
        );
        assert!(errors(&tuple, Derive::GroupFields)[0].contains("tuple struct"));
        let generic: DeriveInput = syn::parse_quote!(
            struct Dims<T> {
                w: T,
            }
        );
        assert!(errors(&generic, Derive::GroupFields)[0].contains("generic"));
    }
}
