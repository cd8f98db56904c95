//! Shapes: the serde data model of a table's key and value types (field names in order, field
//! types, nested structs, enums and their variants, options, sequences, maps), taken with
//! `serde-reflection` and stored in the catalog. A shape carries no Rust path or type name: two
//! types with the same fields in the same order have the same shape.

mod diff;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_reflection::{
    ContainerFormat, Format, Named, Registry, Tracer, TracerConfig, VariantFormat,
};

pub(crate) use diff::{Change, ChangeKind, diff};

/// The serde shape of a type. Its postcard encoding is part of the catalog format: variants are
/// only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Shape {
    Unit,
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    Bytes,
    Option(Box<Shape>),
    Seq(Box<Shape>),
    Map(Box<Shape>, Box<Shape>),
    Tuple(Vec<Shape>),
    Array(Box<Shape>, u64),
    UnitStruct,
    Newtype(Box<Shape>),
    TupleStruct(Vec<Shape>),
    Struct(Vec<Field>),
    Enum(Vec<Variant>),
}

/// A named field of a struct or struct variant: its serialized name and shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) shape: Shape,
}

/// A variant of an enum, in the enum's variant-index order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Variant {
    pub(crate) name: String,
    pub(crate) content: Content,
}

/// What a variant holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Content {
    Unit,
    Newtype(Shape),
    Tuple(Vec<Shape>),
    Struct(Vec<Field>),
}

/// Why a type's shape could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TraceError {
    #[error("serde-reflection cannot trace it: {0}")]
    Tracer(String),
    #[error("it is recursive (container {0} contains itself)")]
    Recursive(String),
    #[error("container {0} is not in the traced registry")]
    Missing(String),
    #[error("enum {0} has variant indexes with gaps")]
    SparseEnum(String),
}

/// Traces an enum type on its own before the value type, so that every variant of it is known
/// where the value type holds it inside an `Option`, a sequence or a map: serde-reflection
/// explores those containers once, and an enum first met there stays incomplete.
pub(crate) type EnumHint = fn(&mut Tracer) -> Result<(), serde_reflection::Error>;

/// The [`EnumHint`] of `E`.
pub(crate) fn enum_hint<E: DeserializeOwned>(
    tracer: &mut Tracer,
) -> Result<(), serde_reflection::Error> {
    tracer.trace_simple_type::<E>().map(drop)
}

/// The most tracing passes over one type; each pass discovers one more variant of every enum
/// that is still incomplete, so this bounds the variants of the widest enum.
const MAX_PASSES: usize = 1024;

/// Takes the shape of `T` as the codec sees it (`human_readable` as the codec reports it).
///
/// # Errors
/// [`TraceError`] if serde-reflection cannot trace `T`: it calls `deserialize_any` (as
/// `#[serde(flatten)]` and untagged enums do), its `Deserialize` rejects the placeholder values
/// the tracer feeds it, it is recursive, or it holds an enum inside an `Option`, a sequence or
/// a map that is not among the `hints` (the tracer explores those containers once).
pub(crate) fn trace<T: DeserializeOwned>(
    human_readable: bool,
    hints: &[EnumHint],
) -> Result<Shape, TraceError> {
    // A pass explores one more variant of an enum only if the enum is not marked incomplete
    // (the tracer then takes its first variant, to stop recursion), and the tracer clears the
    // mark only for the outermost type. So between passes the marks of the enums known to be
    // incomplete are cleared; the tracer names them when its registry is taken, which ends it:
    // run 1, 2, 4, … passes on fresh tracers until one is complete.
    let mut passes = 1;
    let mut incomplete: Vec<String> = Vec::new();
    loop {
        let mut tracer = Tracer::new(TracerConfig::default().is_human_readable(human_readable));
        for hint in hints {
            hint(&mut tracer).map_err(|err| TraceError::Tracer(err.to_string()))?;
        }
        let mut format = None;
        for pass in 0..passes {
            let (pass_format, _) = tracer
                .trace_simple_type::<T>()
                .map_err(|err| TraceError::Tracer(err.to_string()))?;
            format = Some(pass_format);
            if pass + 1 < passes {
                for name in &incomplete {
                    tracer.check_incomplete_enum(name);
                }
            }
        }
        match (tracer.registry(), format) {
            (Ok(registry), Some(format)) => {
                return convert(&format, &registry, &mut Vec::new());
            }
            (Err(serde_reflection::Error::MissingVariants(names)), _) if passes < MAX_PASSES => {
                for name in names {
                    if !incomplete.contains(&name) {
                        incomplete.push(name);
                    }
                }
                passes *= 2;
            }
            (Err(err), _) => return Err(TraceError::Tracer(err.to_string())),
            (Ok(_), None) => return Err(TraceError::Tracer("no pass ran".to_owned())),
        }
    }
}

/// Converts a traced format into a shape, resolving container names through `registry`.
fn convert(
    format: &Format,
    registry: &Registry,
    open: &mut Vec<String>,
) -> Result<Shape, TraceError> {
    let mut each = |formats: &[Format]| -> Result<Vec<Shape>, TraceError> {
        formats.iter().map(|format| convert(format, registry, open)).collect()
    };
    Ok(match format {
        Format::Variable(_) => return Err(TraceError::Tracer("an unresolved format".to_owned())),
        Format::TypeName(name) => {
            if open.contains(name) {
                return Err(TraceError::Recursive(name.clone()));
            }
            let container = registry.get(name).ok_or_else(|| TraceError::Missing(name.clone()))?;
            open.push(name.clone());
            let shape = convert_container(name, container, registry, open);
            open.pop();
            shape?
        }
        Format::Unit => Shape::Unit,
        Format::Bool => Shape::Bool,
        Format::I8 => Shape::I8,
        Format::I16 => Shape::I16,
        Format::I32 => Shape::I32,
        Format::I64 => Shape::I64,
        Format::I128 => Shape::I128,
        Format::U8 => Shape::U8,
        Format::U16 => Shape::U16,
        Format::U32 => Shape::U32,
        Format::U64 => Shape::U64,
        Format::U128 => Shape::U128,
        Format::F32 => Shape::F32,
        Format::F64 => Shape::F64,
        Format::Char => Shape::Char,
        Format::Str => Shape::Str,
        Format::Bytes => Shape::Bytes,
        Format::Option(inner) => Shape::Option(Box::new(convert(inner, registry, open)?)),
        Format::Seq(inner) => Shape::Seq(Box::new(convert(inner, registry, open)?)),
        Format::Map { key, value } => Shape::Map(
            Box::new(convert(key, registry, open)?),
            Box::new(convert(value, registry, open)?),
        ),
        Format::Tuple(items) => Shape::Tuple(each(items)?),
        Format::TupleArray { content, size } => Shape::Array(
            Box::new(convert(content, registry, open)?),
            u64::try_from(*size).unwrap_or(u64::MAX),
        ),
    })
}

fn convert_fields(
    fields: &[Named<Format>],
    registry: &Registry,
    open: &mut Vec<String>,
) -> Result<Vec<Field>, TraceError> {
    fields
        .iter()
        .map(|field| {
            Ok(Field { name: field.name.clone(), shape: convert(&field.value, registry, open)? })
        })
        .collect()
}

fn convert_container(
    name: &str,
    container: &ContainerFormat,
    registry: &Registry,
    open: &mut Vec<String>,
) -> Result<Shape, TraceError> {
    Ok(match container {
        ContainerFormat::UnitStruct => Shape::UnitStruct,
        ContainerFormat::NewTypeStruct(inner) => {
            Shape::Newtype(Box::new(convert(inner, registry, open)?))
        }
        ContainerFormat::TupleStruct(items) => Shape::TupleStruct(
            items.iter().map(|item| convert(item, registry, open)).collect::<Result<_, _>>()?,
        ),
        ContainerFormat::Struct(fields) => Shape::Struct(convert_fields(fields, registry, open)?),
        ContainerFormat::Enum(variants) => {
            let mut out = Vec::with_capacity(variants.len());
            for (expected, (&index, variant)) in variants.iter().enumerate() {
                if usize::try_from(index).ok() != Some(expected) {
                    return Err(TraceError::SparseEnum(name.to_owned()));
                }
                let content = match &variant.value {
                    VariantFormat::Variable(_) => {
                        return Err(TraceError::Tracer(format!(
                            "variant {} of {name} was not traced",
                            variant.name
                        )));
                    }
                    VariantFormat::Unit => Content::Unit,
                    VariantFormat::NewType(inner) => {
                        Content::Newtype(convert(inner, registry, open)?)
                    }
                    VariantFormat::Tuple(items) => Content::Tuple(
                        items
                            .iter()
                            .map(|item| convert(item, registry, open))
                            .collect::<Result<_, _>>()?,
                    ),
                    VariantFormat::Struct(fields) => {
                        Content::Struct(convert_fields(fields, registry, open)?)
                    }
                };
                out.push(Variant { name: variant.name.clone(), content });
            }
            Shape::Enum(out)
        }
    })
}

impl std::fmt::Display for Shape {
    /// Rust-like: `u8`, `String`, `Option<u32>`, `Vec<String>`, `{ a: u8, b: String }`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |f: &mut std::fmt::Formatter<'_>, items: &[Shape]| -> std::fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        };
        match self {
            Shape::Unit => f.write_str("()"),
            Shape::Bool => f.write_str("bool"),
            Shape::I8 => f.write_str("i8"),
            Shape::I16 => f.write_str("i16"),
            Shape::I32 => f.write_str("i32"),
            Shape::I64 => f.write_str("i64"),
            Shape::I128 => f.write_str("i128"),
            Shape::U8 => f.write_str("u8"),
            Shape::U16 => f.write_str("u16"),
            Shape::U32 => f.write_str("u32"),
            Shape::U64 => f.write_str("u64"),
            Shape::U128 => f.write_str("u128"),
            Shape::F32 => f.write_str("f32"),
            Shape::F64 => f.write_str("f64"),
            Shape::Char => f.write_str("char"),
            Shape::Str => f.write_str("String"),
            Shape::Bytes => f.write_str("bytes"),
            Shape::Option(inner) => write!(f, "Option<{inner}>"),
            Shape::Seq(inner) => write!(f, "Vec<{inner}>"),
            Shape::Map(key, value) => write!(f, "Map<{key}, {value}>"),
            Shape::Tuple(items) => {
                f.write_str("(")?;
                list(f, items)?;
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
            Shape::Array(item, len) => write!(f, "[{item}; {len}]"),
            Shape::UnitStruct => f.write_str("unit struct"),
            Shape::Newtype(inner) => write!(f, "newtype({inner})"),
            Shape::TupleStruct(items) => {
                f.write_str("tuple struct (")?;
                list(f, items)?;
                f.write_str(")")
            }
            Shape::Struct(fields) => {
                f.write_str("struct { ")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", field.name, field.shape)?;
                }
                f.write_str(" }")
            }
            Shape::Enum(variants) => {
                f.write_str("enum { ")?;
                for (i, variant) in variants.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&variant.name)?;
                }
                f.write_str(" }")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Address {
        street: String,
        zip: Option<u32>,
    }

    #[derive(Serialize, Deserialize)]
    enum Plan {
        Free,
        Paid(u32),
        Team { seats: u16 },
    }

    #[derive(Serialize, Deserialize)]
    struct User {
        id: u64,
        #[serde(rename = "full_name")]
        name: String,
        address: Address,
        plans: Vec<Plan>,
        tags: BTreeMap<String, (u8, bool)>,
    }

    #[test]
    fn a_struct_traces_to_its_fields_in_order_with_nested_containers_inlined() {
        assert!(trace::<User>(false, &[]).is_err(), "an enum in a Vec needs a hint");
        let shape = trace::<User>(false, &[enum_hint::<Plan>]).unwrap();
        let Shape::Struct(fields) = &shape else { panic!("{shape}") };
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "full_name", "address", "plans", "tags"]);
        assert_eq!(fields[1].shape, Shape::Str);
        assert_eq!(
            fields[2].shape,
            Shape::Struct(vec![
                Field { name: "street".into(), shape: Shape::Str },
                Field { name: "zip".into(), shape: Shape::Option(Box::new(Shape::U32)) },
            ])
        );
        let Shape::Seq(plan) = &fields[3].shape else { panic!() };
        let Shape::Enum(variants) = &**plan else { panic!() };
        let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["Free", "Paid", "Team"], "every variant, in index order");
        assert_eq!(variants[1].content, Content::Newtype(Shape::U32));
        assert_eq!(
            fields[4].shape,
            Shape::Map(Box::new(Shape::Str), Box::new(Shape::Tuple(vec![Shape::U8, Shape::Bool])))
        );
    }

    #[test]
    fn an_enum_in_a_struct_field_traces_every_variant_without_a_hint() {
        #[derive(Deserialize)]
        #[expect(dead_code, reason = "only traced, never built")]
        struct Account {
            plan: Plan,
            nested: (u8, Plan),
        }
        let shape = trace::<Account>(false, &[]).unwrap();
        let Shape::Struct(fields) = shape else { panic!() };
        let Shape::Enum(variants) = &fields[0].shape else { panic!() };
        assert_eq!(variants.len(), 3);
    }

    #[test]
    fn the_same_fields_under_another_type_name_have_the_same_shape() {
        mod elsewhere {
            #[derive(serde::Deserialize)]
            pub(super) struct Renamed {
                pub(super) _a: u8,
            }
        }
        #[derive(Deserialize)]
        struct Original {
            _a: u8,
        }
        assert_eq!(
            trace::<Original>(false, &[]).unwrap(),
            trace::<elsewhere::Renamed>(false, &[]).unwrap()
        );
    }

    #[test]
    fn untraceable_types_are_errors_not_panics() {
        #[derive(Deserialize)]
        #[serde(untagged)]
        #[expect(dead_code, reason = "only traced, never built")]
        enum Loose {
            A(u8),
            B(String),
        }
        #[derive(Deserialize)]
        #[expect(dead_code, reason = "only traced, never built")]
        struct Tree {
            children: Vec<Tree>,
        }
        assert!(matches!(trace::<Loose>(false, &[]), Err(TraceError::Tracer(_))));
        assert!(matches!(trace::<Tree>(false, &[]), Err(TraceError::Recursive(_))));
    }
}
