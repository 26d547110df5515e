//! What makes operations OT: inverting one, composing two in sequence, and transforming
//! two concurrent ones so both orders give the same text; walked piece by piece.

use ropey::Rope;

use super::{Component, Operation, OtError, byte_at_char, char_len};

impl Operation {
    /// The operation that undoes this one, given the document it was applied to.
    pub fn invert(&self, before: &Rope) -> Result<Operation, OtError> {
        self.check_base(before.len_chars())?;
        let mut inverse = Operation::default();
        let mut pos = 0;
        for c in &self.components {
            match c {
                Component::Retain(n) => {
                    inverse.push_retain(*n);
                    pos += n;
                }
                Component::Insert(s) => inverse.push_delete(char_len(s)),
                Component::Delete(n) => {
                    inverse.push_insert(&before.slice(pos..pos + n).to_string());
                    pos += n;
                }
            }
        }
        Ok(inverse)
    }

    /// One operation with the effect of `self` followed by `next`.
    pub fn compose(&self, next: &Operation) -> Result<Operation, OtError> {
        if self.target_len != next.base_len {
            return Err(OtError::ComposeMismatch {
                first_target: self.target_len,
                second_base: next.base_len,
            });
        }
        let mut out = Operation::default();
        let mut a = Pieces::new(&self.components);
        let mut b = Pieces::new(&next.components);
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(Piece::Delete(n)), _) => {
                    out.push_delete(n);
                    a.advance(n);
                }
                (_, Some(Piece::Insert(s))) => {
                    out.push_insert(s);
                    b.advance(char_len(s));
                }
                (Some(pa), Some(pb)) => {
                    let n = pa.len().min(pb.len());
                    match (a.take(n), b.take(n)) {
                        (Piece::Retain(_), Piece::Retain(_)) => out.push_retain(n),
                        (Piece::Insert(s), Piece::Retain(_)) => out.push_insert(s),
                        (Piece::Retain(_), Piece::Delete(_)) => out.push_delete(n),
                        // Text inserted by the first and deleted by the second never existed.
                        (Piece::Insert(_), Piece::Delete(_)) => {}
                        _ => unreachable!("deletes of `self` and inserts of `next` handled above"),
                    }
                }
                // Unreachable with consistent lengths, which were checked above.
                _ => {
                    return Err(OtError::ComposeMismatch {
                        first_target: self.target_len,
                        second_base: next.base_len,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Transform two concurrent operations made on the same document: returns `(a', b')`
    /// such that `a` then `b'` equals `b` then `a'`.
    ///
    /// Ties: when both insert at the same position, `a`'s text ends up first. cotype
    /// always passes the edit the host sequenced earlier as `a` (the host transforming an
    /// incoming edit against its history, a client transforming a remote edit against its
    /// pending ones), so every copy orders concurrent inserts by host arrival.
    pub fn transform(a: &Operation, b: &Operation) -> Result<(Operation, Operation), OtError> {
        if a.base_len != b.base_len {
            return Err(OtError::TransformMismatch {
                a: a.base_len,
                b: b.base_len,
            });
        }
        let mut a2 = Operation::default();
        let mut b2 = Operation::default();
        let mut pa = Pieces::new(&a.components);
        let mut pb = Pieces::new(&b.components);
        loop {
            match (pa.peek(), pb.peek()) {
                (None, None) => break,
                (Some(Piece::Insert(s)), _) => {
                    a2.push_insert(s);
                    b2.push_retain(char_len(s));
                    pa.advance(char_len(s));
                }
                (_, Some(Piece::Insert(s))) => {
                    a2.push_retain(char_len(s));
                    b2.push_insert(s);
                    pb.advance(char_len(s));
                }
                (Some(x), Some(y)) => {
                    let n = x.len().min(y.len());
                    match (pa.take(n), pb.take(n)) {
                        (Piece::Retain(_), Piece::Retain(_)) => {
                            a2.push_retain(n);
                            b2.push_retain(n);
                        }
                        (Piece::Delete(_), Piece::Retain(_)) => a2.push_delete(n),
                        (Piece::Retain(_), Piece::Delete(_)) => b2.push_delete(n),
                        // Both deleted the same text: nothing left for either to do.
                        (Piece::Delete(_), Piece::Delete(_)) => {}
                        _ => unreachable!("inserts handled above"),
                    }
                }
                _ => {
                    return Err(OtError::TransformMismatch {
                        a: a.base_len,
                        b: b.base_len,
                    });
                }
            }
        }
        Ok((a2, b2))
    }
}

/// A borrowed piece of a component, so compose and transform can split components
/// without allocating.
#[derive(Clone, Copy, Debug)]
enum Piece<'a> {
    Retain(usize),
    Insert(&'a str),
    Delete(usize),
}

impl Piece<'_> {
    fn len(&self) -> usize {
        match self {
            Piece::Retain(n) | Piece::Delete(n) => *n,
            Piece::Insert(s) => char_len(s),
        }
    }
}

/// Walks an operation's components, handing out pieces of any length.
struct Pieces<'a> {
    rest: std::slice::Iter<'a, Component>,
    current: Option<Piece<'a>>,
}

impl<'a> Pieces<'a> {
    fn new(components: &'a [Component]) -> Self {
        let mut p = Pieces {
            rest: components.iter(),
            current: None,
        };
        p.load();
        p
    }

    fn load(&mut self) {
        self.current = self.rest.next().map(|c| match c {
            Component::Retain(n) => Piece::Retain(*n),
            Component::Insert(s) => Piece::Insert(s),
            Component::Delete(n) => Piece::Delete(*n),
        });
    }

    fn peek(&self) -> Option<Piece<'a>> {
        self.current
    }

    /// Takes the first `n` units (`n` at most the current piece's length).
    fn take(&mut self, n: usize) -> Piece<'a> {
        let current = self
            .current
            .expect("take is only called after peek returned a piece");
        let (head, tail) = match current {
            Piece::Retain(m) => (Piece::Retain(n), Piece::Retain(m - n)),
            Piece::Delete(m) => (Piece::Delete(n), Piece::Delete(m - n)),
            Piece::Insert(s) => {
                let b = byte_at_char(s, n);
                (Piece::Insert(&s[..b]), Piece::Insert(&s[b..]))
            }
        };
        if tail.len() == 0 {
            self.load();
        } else {
            self.current = Some(tail);
        }
        head
    }

    fn advance(&mut self, n: usize) {
        self.take(n);
    }
}
