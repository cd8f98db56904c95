//! The differences between two shapes, field by field and variant by variant, and which of them
//! an old value can cross by itself when it is read as the new type by field name.

use std::fmt;

use super::{Content, Field, Shape, Variant};

/// One difference between an old shape and a new one, at `path` (`address.zip`; empty for the
/// whole value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) path: String,
    pub(crate) kind: ChangeKind,
}

/// What changed at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// A field the old shape does not have.
    Added(Shape),
    /// A field the new shape does not have.
    Removed,
    /// Another type under the same name.
    Retyped { old: Shape, new: Shape },
    /// A variant the old enum does not have.
    VariantAdded(String),
    /// A variant the new enum does not have.
    VariantRemoved(String),
    /// A variant whose kind of content (unit, newtype, tuple, struct) changed.
    VariantRetyped(String),
    /// A variant at another index.
    VariantMoved(String),
    /// The same fields in another order.
    Reordered,
}

impl Change {
    /// Whether an old value crosses this change when read by name: a removed field is dropped,
    /// reordered fields and new variants need nothing, a number may widen and a value may become
    /// an `Option`. An added field crosses only if it has a serde default, which the shape does
    /// not say: the open probes that separately.
    pub(crate) fn is_mappable(&self) -> bool {
        match &self.kind {
            ChangeKind::Added(_)
            | ChangeKind::Removed
            | ChangeKind::VariantAdded(_)
            | ChangeKind::VariantMoved(_)
            | ChangeKind::Reordered => true,
            ChangeKind::Retyped { old, new } => widens(old, new),
            ChangeKind::VariantRemoved(_) | ChangeKind::VariantRetyped(_) => false,
        }
    }

    /// The field (or variant) the change is about, for messages: `field tier`.
    pub(crate) fn subject(&self) -> String {
        match &self.kind {
            ChangeKind::VariantAdded(name)
            | ChangeKind::VariantMoved(name)
            | ChangeKind::VariantRemoved(name)
            | ChangeKind::VariantRetyped(name) => format!("variant {}", join(&self.path, name)),
            _ if self.path.is_empty() => "the value".to_owned(),
            _ => format!("field {}", self.path),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = self.subject();
        match &self.kind {
            ChangeKind::Added(shape) => write!(f, "{subject}: {shape} added"),
            ChangeKind::Removed | ChangeKind::VariantRemoved(_) => write!(f, "{subject} removed"),
            ChangeKind::Retyped { old, new } => write!(f, "{subject}: {old} → {new}"),
            ChangeKind::VariantAdded(_) => write!(f, "{subject} added"),
            ChangeKind::VariantMoved(_) => write!(f, "{subject} moved to another index"),
            ChangeKind::VariantRetyped(_) => write!(f, "{subject} holds another kind of content"),
            ChangeKind::Reordered if self.path.is_empty() => f.write_str("fields reordered"),
            ChangeKind::Reordered => write!(f, "fields of {} reordered", self.path),
        }
    }
}

/// Whether a value of shape `old` reads losslessly as `new` through serde's number visitors.
fn widens(old: &Shape, new: &Shape) -> bool {
    use Shape::{F32, F64, I8, I16, I32, I64, I128, U8, U16, U32, U64, U128};
    if let Shape::Option(inner) = new
        && **inner == *old
    {
        return true;
    }
    matches!(
        (old, new),
        (U8, U16 | U32 | U64 | U128 | I16 | I32 | I64 | I128)
            | (U16, U32 | U64 | U128 | I32 | I64 | I128)
            | (U32, U64 | U128 | I64 | I128)
            | (U64, U128 | I128)
            | (I8, I16 | I32 | I64 | I128)
            | (I16, I32 | I64 | I128)
            | (I32, I64 | I128)
            | (I64, I128)
            | (F32, F64)
    )
}

/// Every difference between `old` and `new`, outermost first.
pub(crate) fn diff(old: &Shape, new: &Shape) -> Vec<Change> {
    let mut out = Vec::new();
    walk(old, new, "", &mut out);
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn walk(old: &Shape, new: &Shape, path: &str, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Shape::Struct(a), Shape::Struct(b)) => fields(a, b, path, out),
        (Shape::Enum(a), Shape::Enum(b)) => variants(a, b, path, out),
        (Shape::Option(a), Shape::Option(b))
        | (Shape::Seq(a), Shape::Seq(b))
        | (Shape::Newtype(a), Shape::Newtype(b)) => walk(a, b, path, out),
        (Shape::Array(a, n), Shape::Array(b, m)) if n == m => walk(a, b, path, out),
        (Shape::Map(ak, av), Shape::Map(bk, bv)) => {
            walk(ak, bk, path, out);
            walk(av, bv, path, out);
        }
        (Shape::Tuple(a), Shape::Tuple(b)) | (Shape::TupleStruct(a), Shape::TupleStruct(b))
            if a.len() == b.len() =>
        {
            for (index, (a, b)) in a.iter().zip(b).enumerate() {
                walk(a, b, &join(path, &index.to_string()), out);
            }
        }
        _ => out.push(Change {
            path: path.to_owned(),
            kind: ChangeKind::Retyped { old: old.clone(), new: new.clone() },
        }),
    }
}

fn fields(old: &[Field], new: &[Field], path: &str, out: &mut Vec<Change>) {
    let kept_old: Vec<&str> = old
        .iter()
        .filter(|f| new.iter().any(|n| n.name == f.name))
        .map(|f| f.name.as_str())
        .collect();
    let kept_new: Vec<&str> = new
        .iter()
        .filter(|f| old.iter().any(|o| o.name == f.name))
        .map(|f| f.name.as_str())
        .collect();
    if kept_old != kept_new {
        out.push(Change { path: path.to_owned(), kind: ChangeKind::Reordered });
    }
    for field in new {
        let at = join(path, &field.name);
        match old.iter().find(|o| o.name == field.name) {
            Some(before) => walk(&before.shape, &field.shape, &at, out),
            None => out.push(Change { path: at, kind: ChangeKind::Added(field.shape.clone()) }),
        }
    }
    for field in old {
        if !new.iter().any(|n| n.name == field.name) {
            out.push(Change { path: join(path, &field.name), kind: ChangeKind::Removed });
        }
    }
}

fn variants(old: &[Variant], new: &[Variant], path: &str, out: &mut Vec<Change>) {
    let position = |list: &[Variant], name: &str| list.iter().position(|v| v.name == name);
    for (index, variant) in new.iter().enumerate() {
        let name = variant.name.clone();
        let Some((before_index, before)) =
            old.iter().enumerate().find(|(_, v)| v.name == variant.name)
        else {
            out.push(Change { path: path.to_owned(), kind: ChangeKind::VariantAdded(name) });
            continue;
        };
        if before_index != index {
            // Binary codecs store the index: a moved variant reads by name, but the same
            // version with moved variants would misread.
            out.push(Change {
                path: path.to_owned(),
                kind: ChangeKind::VariantMoved(variant.name.clone()),
            });
        }
        let at = join(path, &variant.name);
        match (&before.content, &variant.content) {
            (Content::Unit, Content::Unit) => {}
            (Content::Newtype(a), Content::Newtype(b)) => walk(a, b, &at, out),
            (Content::Tuple(a), Content::Tuple(b)) if a.len() == b.len() => {
                for (i, (a, b)) in a.iter().zip(b).enumerate() {
                    walk(a, b, &join(&at, &i.to_string()), out);
                }
            }
            (Content::Struct(a), Content::Struct(b)) => fields(a, b, &at, out),
            _ => out.push(Change { path: path.to_owned(), kind: ChangeKind::VariantRetyped(name) }),
        }
    }
    for variant in old {
        if position(new, &variant.name).is_none() {
            out.push(Change {
                path: path.to_owned(),
                kind: ChangeKind::VariantRemoved(variant.name.clone()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, shape: Shape) -> Field {
        Field { name: name.into(), shape }
    }

    fn messages(old: &Shape, new: &Shape) -> Vec<String> {
        diff(old, new).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn field_changes_are_named_with_their_types() {
        let old = Shape::Struct(vec![
            field("id", Shape::U64),
            field("age", Shape::U8),
            field("score", Shape::U32),
        ]);
        let new = Shape::Struct(vec![
            field("id", Shape::U64),
            field("score", Shape::F64),
            field("tier", Shape::U8),
        ]);
        assert_eq!(
            messages(&old, &new),
            ["field score: u32 → f64", "field tier: u8 added", "field age removed"]
        );
        assert!(!diff(&old, &new)[0].is_mappable());
        assert!(diff(&old, &new)[1..].iter().all(Change::is_mappable));
    }

    #[test]
    fn nested_fields_reorders_and_variants_have_paths() {
        let address = |zip: bool| {
            let mut fields = vec![field("street", Shape::Str)];
            if zip {
                fields.push(field("zip", Shape::Str));
            }
            Shape::Struct(fields)
        };
        let plan = |names: &[&str]| {
            Shape::Enum(
                names
                    .iter()
                    .map(|n| Variant { name: (*n).into(), content: Content::Unit })
                    .collect(),
            )
        };
        let old = Shape::Struct(vec![
            field("a", Shape::U8),
            field("b", Shape::U8),
            field("home", address(false)),
            field("plan", plan(&["Free", "Pro"])),
        ]);
        let new = Shape::Struct(vec![
            field("b", Shape::U8),
            field("a", Shape::U8),
            field("home", address(true)),
            field("plan", plan(&["Free", "Team"])),
        ]);
        assert_eq!(
            messages(&old, &new),
            [
                "fields reordered",
                "field home.zip: String added",
                "variant plan.Team added",
                "variant plan.Pro removed"
            ]
        );
        let mappable: Vec<bool> = diff(&old, &new).iter().map(Change::is_mappable).collect();
        assert_eq!(mappable, [true, true, true, false]);
    }

    #[test]
    fn widening_numbers_and_wrapping_in_option_are_mappable_narrowing_is_not() {
        let one = |old, new| diff(&old, &new).into_iter().all(|c| c.is_mappable());
        assert!(one(Shape::U8, Shape::U64));
        assert!(one(Shape::U32, Shape::I64));
        assert!(one(Shape::F32, Shape::F64));
        assert!(one(Shape::Str, Shape::Option(Box::new(Shape::Str))));
        assert!(!one(Shape::U64, Shape::U32));
        assert!(!one(Shape::I8, Shape::U8));
        assert!(!one(Shape::U32, Shape::F64));
        assert!(diff(&Shape::U8, &Shape::U8).is_empty());
    }
}
