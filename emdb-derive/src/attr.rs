//! Parsing: the derive input and its `#[emdb(...)]` attributes, read into an intermediate
//! representation. Parsing knows every option and its syntax, but not which derive accepts it:
//! that is each derive's validation step.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{
    Attribute, Data, DeriveInput, Fields, Generics, Ident, LitInt, LitStr, Member, Path, Token,
    Type, Visibility,
};

use crate::errors::Errors;

/// Which derive is running; used in messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Record,
    Group,
    GroupFields,
}

impl Derive {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Derive::Record => "Record",
            Derive::Group => "Group",
            Derive::GroupFields => "GroupFields",
        }
    }

    /// Why the derive needs a struct, for the error on an enum or a union.
    fn needs_struct(self) -> &'static str {
        match self {
            Derive::Record => {
                "a record is found by its key fields; wrap the enum in a struct with an #[emdb(key)] field"
            }
            Derive::Group | Derive::GroupFields => {
                "each named field is stored as one entry; wrap the enum in a struct field"
            }
        }
    }
}

/// An option's value and where it was written.
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// The value codecs `codec = "..."` can name.
#[derive(Clone, Copy)]
pub(crate) enum CodecName {
    Postcard,
    Bincode,
    Json,
}

impl CodecName {
    /// The name of the codec marker type in the facade.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            CodecName::Postcard => "Postcard",
            CodecName::Bincode => "Bincode",
            CodecName::Json => "Json",
        }
    }
}

/// The options of the `#[emdb(...)]` attributes on the struct.
#[derive(Default)]
pub(crate) struct ContainerOpts {
    pub(crate) table: Option<Spanned<String>>,
    pub(crate) group: Option<Spanned<String>>,
    pub(crate) codec: Option<Spanned<CodecName>>,
    pub(crate) version: Option<Spanned<u32>>,
    pub(crate) krate: Option<Spanned<Path>>,
    /// `previous = "UserV1"`: the type of the previous schema version, for the upgrade step.
    pub(crate) previous: Option<Spanned<Type>>,
}

/// The options of the `#[emdb(...)]` attributes on one field; each flag holds its span.
#[derive(Default)]
pub(crate) struct FieldOpts {
    pub(crate) key: Option<Span>,
    pub(crate) index: Option<Span>,
    /// `index(unique)`: the index is unique.
    pub(crate) unique: bool,
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) default: Option<Span>,
    pub(crate) group: Option<Span>,
}

/// The shape of the struct.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Named,
    Tuple,
    Unit,
}

/// One field of the struct.
pub(crate) struct Field<'a> {
    /// `self.<member>`: the name, or the position in a tuple struct.
    pub(crate) member: Member,
    pub(crate) ident: Option<&'a Ident>,
    pub(crate) ty: &'a Type,
    pub(crate) vis: &'a Visibility,
    pub(crate) opts: FieldOpts,
}

impl Field<'_> {
    /// The span to point at for a mistake about the whole field.
    pub(crate) fn span(&self) -> Span {
        self.ident.map_or_else(|| self.ty.span(), Ident::span)
    }

    /// The member as written (`name` or `0`), for messages.
    pub(crate) fn member_name(&self) -> String {
        let member = &self.member;
        quote::quote!(#member).to_string()
    }
}

/// The parsed derive input.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) generics: &'a Generics,
    pub(crate) opts: ContainerOpts,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
}

/// Parses `input`, adding every mistake to `errors`. `None` if `input` is not a struct.
pub(crate) fn parse<'a>(
    input: &'a DeriveInput,
    derive: Derive,
    errors: &mut Errors,
) -> Option<Input<'a>> {
    let opts = parse_container(&input.attrs, errors);
    let name = derive.name();
    let fields = match &input.data {
        Data::Struct(data) => &data.fields,
        Data::Enum(data) => {
            errors.at(
                data.enum_token.span,
                format!(
                    "#[derive({name})] supports structs only, not enums: {}",
                    derive.needs_struct()
                ),
            );
            return None;
        }
        Data::Union(data) => {
            errors.at(
                data.union_token.span,
                format!("#[derive({name})] supports structs only, not unions"),
            );
            return None;
        }
    };
    let style = match fields {
        Fields::Named(_) => Style::Named,
        Fields::Unnamed(_) => Style::Tuple,
        Fields::Unit => Style::Unit,
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(index, field)| Field {
            member: field.ident.clone().map_or_else(|| Member::from(index), Member::Named),
            ident: field.ident.as_ref(),
            ty: &field.ty,
            vis: &field.vis,
            opts: parse_field(&field.attrs, errors),
        })
        .collect();
    Some(Input {
        ident: &input.ident,
        vis: &input.vis,
        generics: &input.generics,
        opts,
        style,
        fields,
    })
}

/// The attributes of `attrs` that are `#[emdb(...)]`.
fn emdb_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("emdb"))
}

/// The option name, as written.
fn option_name(meta: &ParseNestedMeta<'_>) -> String {
    let path = &meta.path;
    quote::quote!(#path).to_string().replace(' ', "")
}

/// Stores `value` in `slot`, or reports a duplicate.
fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(
            meta.path.span(),
            format!("duplicate `{}` option; keep only one", option_name(meta)),
        );
    } else {
        *slot = Some(value);
    }
}

/// Consumes whatever follows an option that is reported as a mistake (`= value` or `(...)`), so
/// that parsing goes on with the next option.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// Reads the string of `name = "..."`; `example` shows the right syntax in the error.
fn string_value(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    let name = option_name(meta);
    let hint = |err: syn::Error| {
        syn::Error::new(err.span(), format!("`{name}` takes a string: `{example}`"))
    };
    meta.value().map_err(hint)?.parse::<LitStr>().map_err(hint)
}

/// Reads a flag option (`key`); a value after it is a mistake.
fn flag(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<Span>> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Ok(Some(meta.path.span()));
    }
    // Report the value, but take the flag as set, so that no error follows from its absence.
    let name = option_name(meta);
    errors.at(meta.path.span(), format!("`{name}` takes no value: write `#[emdb({name})]`"));
    skip_value(meta)?;
    Ok(Some(meta.path.span()))
}

/// The options known in one position, for suggestions.
const CONTAINER_NAMES: [&str; 6] = ["table", "group", "codec", "version", "previous", "crate"];
const FIELD_NAMES: [&str; 5] = ["key", "index", "rename", "default", "group"];

/// The number of single-character edits between `a` and `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).map_or(usize::MAX, |d| d + usize::from(ca != *cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or_default()
}

/// " (did you mean `x`?)" for an unknown option close to a known one.
fn suggestion(name: &str, known: &[&str]) -> String {
    let synonym = match name {
        "primary" | "primary_key" | "pk" | "id" => Some("key"),
        "name" | "table_name" => Some("table"),
        "serde_rename" | "alias" => Some("rename"),
        _ => None,
    };
    let close = || known.iter().copied().find(|option| edit_distance(name, option) <= 2);
    synonym
        .filter(|option| known.contains(option))
        .or_else(close)
        .map(|option| format!(" (did you mean `{option}`?)"))
        .unwrap_or_default()
}

const CONTAINER_OPTIONS: &str = "`table`, `group`, `codec`, `version`, `previous` or `crate`";
const FIELD_OPTIONS: &str = "`key`, `index`, `rename`, `default` or `group`";

fn parse_container(attrs: &[Attribute], errors: &mut Errors) -> ContainerOpts {
    let mut opts = ContainerOpts::default();
    for attr in emdb_attrs(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            let name = option_name(&meta);
            match name.as_str() {
                "table" => {
                    let lit = string_value(&meta, "table = \"users\"")?;
                    let value = Spanned { value: lit.value(), span: lit.span() };
                    set_once(&mut opts.table, value, &meta, errors);
                }
                "group" if meta.input.peek(Token![=]) => {
                    let lit = string_value(&meta, "group = \"product\"")?;
                    let value = Spanned { value: lit.value(), span: lit.span() };
                    set_once(&mut opts.group, value, &meta, errors);
                }
                "group" => errors.at(
                    meta.path.span(),
                    "on a struct, `group` names the group: `#[emdb(group = \"product\")]`; a bare `#[emdb(group)]` belongs on a field, to store it as a nested group",
                ),
                "codec" => {
                    let lit = string_value(&meta, "codec = \"json\"")?;
                    let codec = match lit.value().as_str() {
                        "postcard" => Some(CodecName::Postcard),
                        "bincode" => Some(CodecName::Bincode),
                        "json" => Some(CodecName::Json),
                        other => {
                            errors.at(
                                lit.span(),
                                format!("unknown codec {other:?}; use \"postcard\" (the default), \"bincode\" or \"json\""),
                            );
                            None
                        }
                    };
                    if let Some(codec) = codec {
                        set_once(&mut opts.codec, Spanned { value: codec, span: lit.span() }, &meta, errors);
                    }
                }
                "version" => {
                    let hint = |err: syn::Error| {
                        syn::Error::new(err.span(), "`version` takes an integer from 0 to 4294967295: `version = 2`")
                    };
                    let lit: LitInt = meta.value().map_err(hint)?.parse().map_err(hint)?;
                    let version = lit.base10_parse::<u32>().map_err(hint)?;
                    set_once(&mut opts.version, Spanned { value: version, span: lit.span() }, &meta, errors);
                }
                "previous" => {
                    let lit = string_value(&meta, "previous = \"UserV1\"")?;
                    match lit.parse::<Type>() {
                        Ok(ty) => {
                            set_once(&mut opts.previous, Spanned { value: ty, span: lit.span() }, &meta, errors);
                        }
                        Err(_) => errors.at(
                            lit.span(),
                            format!("`previous` takes the type of the previous schema version, such as \"UserV1\"; {:?} is not a type", lit.value()),
                        ),
                    }
                }
                "crate" => {
                    let lit = string_value(&meta, "crate = \"my_emdb\"")?;
                    match lit.parse::<Path>() {
                        Ok(path) => {
                            set_once(&mut opts.krate, Spanned { value: path, span: lit.span() }, &meta, errors);
                        }
                        Err(_) => errors.at(
                            lit.span(),
                            format!("`crate` takes the path of the emdb crate, such as \"my_emdb\" or \"::deps::emdb\"; {:?} is not a path", lit.value()),
                        ),
                    }
                }
                "key" | "index" | "rename" | "default" => {
                    errors.at(
                        meta.path.span(),
                        format!("`{name}` is a field option: put `#[emdb({name})]` on a field, not on the struct"),
                    );
                    skip_value(&meta)?;
                }
                _ => {
                    errors.at(
                        meta.path.span(),
                        format!(
                            "unknown emdb option `{name}`{}; on a struct, use {CONTAINER_OPTIONS}",
                            suggestion(&name, &CONTAINER_NAMES)
                        ),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(err) = parsed {
            errors.push(err);
        }
    }
    opts
}

fn parse_field(attrs: &[Attribute], errors: &mut Errors) -> FieldOpts {
    let mut opts = FieldOpts::default();
    for attr in emdb_attrs(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            let name = option_name(&meta);
            match name.as_str() {
                "key" => {
                    if let Some(span) = flag(&meta, errors)? {
                        set_once(&mut opts.key, span, &meta, errors);
                    }
                }
                "index" if meta.input.peek(syn::token::Paren) => {
                    set_once(&mut opts.index, meta.path.span(), &meta, errors);
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("unique") && inner.input.is_empty() {
                            opts.unique = true;
                        } else {
                            errors.at(
                                inner.path.span(),
                                "`index` takes only `unique`: `#[emdb(index)]` or `#[emdb(index(unique))]`",
                            );
                            skip_value(&inner)?;
                        }
                        Ok(())
                    })?;
                }
                "index" => {
                    if let Some(span) = flag(&meta, errors)? {
                        set_once(&mut opts.index, span, &meta, errors);
                    }
                }
                "default" => {
                    if let Some(span) = flag(&meta, errors)? {
                        set_once(&mut opts.default, span, &meta, errors);
                    }
                }
                "group" if meta.input.peek(Token![=]) => {
                    errors.at(
                        meta.path.span(),
                        "on a field, `group` takes no value: `#[emdb(group)]` stores the field as a nested group under its name; to change the name, add `rename = \"...\"`",
                    );
                    skip_value(&meta)?;
                }
                "group" => {
                    if let Some(span) = flag(&meta, errors)? {
                        set_once(&mut opts.group, span, &meta, errors);
                    }
                }
                "rename" => {
                    let lit = string_value(&meta, "rename = \"name\"")?;
                    let value = Spanned { value: lit.value(), span: lit.span() };
                    set_once(&mut opts.rename, value, &meta, errors);
                }
                "table" | "codec" | "version" | "crate" => {
                    errors.at(
                        meta.path.span(),
                        format!("`{name}` is a struct option: put `#[emdb({name} = ...)]` on the struct, not on a field"),
                    );
                    skip_value(&meta)?;
                }
                _ => {
                    errors.at(
                        meta.path.span(),
                        format!(
                            "unknown emdb option `{name}`{}; on a field, use {FIELD_OPTIONS}",
                            suggestion(&name, &FIELD_NAMES)
                        ),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(err) = parsed {
            errors.push(err);
        }
    }
    opts
}

/// The path of the emdb crate in generated code: `crate = "..."`, or `::emdb`.
pub(crate) fn krate(opts: &ContainerOpts) -> Path {
    opts.krate.as_ref().map_or_else(|| syn::parse_quote!(::emdb), |krate| krate.value.clone())
}

/// The codec marker type in generated code: `<crate>::Postcard` and so on.
pub(crate) fn codec_path(opts: &ContainerOpts) -> TokenStream {
    let krate = krate(opts);
    let codec = opts.codec.as_ref().map_or(CodecName::Postcard, |codec| codec.value);
    let ident = Ident::new(codec.type_name(), Span::call_site());
    quote::quote!(#krate::#ident)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(input: &DeriveInput) -> (Input<'_>, Option<String>) {
        let mut errors = Errors::default();
        let parsed = parse(input, Derive::Group, &mut errors).unwrap();
        (parsed, errors.finish().err().map(|e| e.to_string()))
    }

    #[test]
    fn every_option_is_read_with_its_value() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(group = "shop.product", codec = "json")]
            #[emdb(version = 3, crate = "::deps::emdb")]
            struct P {
                #[emdb(key)] sku: String,
                #[emdb(rename = "n", default)] name: String,
                #[emdb(group)] dims: Dims,
            }
        };
        let (parsed, errors) = parse_ok(&input);
        assert_eq!(errors, None);
        assert_eq!(parsed.opts.group.map(|g| g.value).as_deref(), Some("shop.product"));
        assert!(matches!(parsed.opts.codec.map(|c| c.value), Some(CodecName::Json)));
        assert_eq!(parsed.opts.version.map(|v| v.value), Some(3));
        assert!(parsed.opts.krate.is_some());
        assert!(parsed.fields[0].opts.key.is_some());
        assert_eq!(parsed.fields[1].opts.rename.as_ref().map(|r| r.value.as_str()), Some("n"));
        assert!(parsed.fields[1].opts.default.is_some());
        assert!(parsed.fields[2].opts.group.is_some());
    }

    #[test]
    fn every_mistake_is_collected_not_just_the_first() {
        let input: DeriveInput = syn::parse_quote! {
            #[emdb(codec = "msgpack", colour = "red", codec = "json", codec = "json")]
            #[emdb(key)]
            struct P {
                #[emdb(key = true, frobnicate, table = "x")] a: String,
                #[emdb(key, key)] b: String,
            }
        };
        let mut errors = Errors::default();
        parse(&input, Derive::Group, &mut errors);
        let all: Vec<String> =
            errors.finish().unwrap_err().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(all.len(), 8, "{all:#?}");
        assert!(all[0].contains("unknown codec \"msgpack\""));
        assert!(all[1].contains("unknown emdb option `colour`"));
        assert!(all[2].contains("duplicate `codec`"));
        assert!(all[3].contains("`key` is a field option"));
        assert!(all[4].contains("`key` takes no value"));
        assert!(all[5].contains("unknown emdb option `frobnicate`"));
        assert!(all[6].contains("`table` is a struct option"));
        assert!(all[7].contains("duplicate `key`"));
    }

    #[test]
    fn unknown_options_close_to_a_known_one_get_a_suggestion() {
        assert_eq!(suggestion("tabel", &CONTAINER_NAMES), " (did you mean `table`?)");
        assert_eq!(suggestion("primary", &FIELD_NAMES), " (did you mean `key`?)");
        assert_eq!(suggestion("defualt", &FIELD_NAMES), " (did you mean `default`?)");
        assert_eq!(suggestion("frobnicate", &FIELD_NAMES), "");
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn enums_and_unions_are_refused_with_the_reason() {
        let input: DeriveInput = syn::parse_quote!(
            enum E {
                A,
            }
        );
        let mut errors = Errors::default();
        assert!(parse(&input, Derive::Record, &mut errors).is_none());
        let message = errors.finish().unwrap_err().to_string();
        assert!(message.contains("structs only, not enums"), "{message}");
    }
}
