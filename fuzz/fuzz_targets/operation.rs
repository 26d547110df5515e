//! Operations from the wire and the algebra every copy relies on: decode (lengths are
//! recomputed, never trusted), apply to a rope, invert, compose, and transform, where the
//! OT property must hold: `a` then `b'` gives the same text as `b` then `a'`. Then the
//! host's side: submissions from members (decoded from the wire, at any base revision)
//! sequenced by `AuthoritativeDocument`, and a member's `Client` fed edits from the wire.
#![no_main]

use arbitrary::Arbitrary;
use cotype::text::{
    AuthoritativeDocument, Client, EditId, Operation, OperationBuilder, RemoteEdit, RemoteOutcome,
    Submission, SubmitOutcome,
};
use libfuzzer_sys::fuzz_target;
use ropey::Rope;

/// Documents this long at most are built to apply a decoded operation to.
const LONGEST_DOCUMENT: usize = 4096;

#[derive(Arbitrary, Debug)]
enum Piece {
    Retain(u8),
    Delete(u8),
    Insert(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    a: Vec<Piece>,
    b: Vec<Piece>,
    wire_a: Vec<u8>,
    wire_b: Vec<u8>,
    submissions: Vec<WireSubmission>,
    remote_edits: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct WireSubmission {
    /// How many revisions behind the host's the member was.
    behind: u8,
    instance: u8,
    seq: u8,
    /// Built for the document at its base revision, or arbitrary bytes from the wire.
    op: Result<Vec<Piece>, Vec<u8>>,
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The operation a recipe describes for a document of `len` chars.
fn op_for(len: usize, recipe: &[Piece]) -> Operation {
    let mut builder = OperationBuilder::new();
    let mut left = len;
    for piece in recipe {
        match piece {
            Piece::Retain(n) => {
                let n = usize::from(*n).min(left);
                builder = builder.retain(n);
                left -= n;
            }
            Piece::Delete(n) => {
                let n = usize::from(*n).min(left);
                builder = builder.delete(n);
                left -= n;
            }
            Piece::Insert(text) => builder = builder.insert(text),
        }
    }
    builder.retain(left).build()
}

fn apply(op: &Operation, text: &str) -> String {
    let mut rope = Rope::from_str(text);
    op.apply(&mut rope).expect("the lengths match");
    let applied = rope.to_string();
    assert_eq!(op.apply_to_string(text).as_deref(), Ok(applied.as_str()));
    assert_eq!(rope.len_chars(), op.target_len());
    applied
}

/// Everything that must hold for one operation on a document it fits.
fn check_one(op: &Operation, text: &str) {
    let after = apply(op, text);
    // Undo: the inverse takes the text back.
    let before = Rope::from_str(text);
    let inverse = op.invert(&before).expect("the lengths match");
    assert_eq!(apply(&inverse, &after), text);
    // The changes, applied one after another, are the operation.
    let mut rope = before.clone();
    for change in op.changes() {
        rope.remove(change.range.clone());
        rope.insert(change.range.start, change.text);
    }
    assert_eq!(rope.to_string(), after);
    // Positions land inside the new text.
    for pos in [0, op.base_len() / 2, op.base_len()] {
        for assoc in [cotype::text::Assoc::Before, cotype::text::Assoc::After] {
            assert!(op.transform_position(pos, assoc) <= op.target_len());
        }
    }
    // The wire form round-trips.
    let encoded = postcard::to_allocvec(op).expect("operations serialize");
    assert_eq!(postcard::from_bytes::<Operation>(&encoded).as_ref(), Ok(op));
    // The size estimate batches are cut by holds for documents of this size (the few
    // bytes of the component count aside).
    assert!(
        encoded.len() <= op.encoded_size() + 5,
        "{} > {}",
        encoded.len(),
        op.encoded_size()
    );
}

/// The OT property for two concurrent operations on `text`, and compose agreeing.
fn check_pair(a: &Operation, b: &Operation, text: &str) {
    let (a2, b2) = Operation::transform(a, b).expect("same base length");
    let after_a = apply(a, text);
    let after_b = apply(b, text);
    let converged = apply(&b2, &after_a);
    assert_eq!(converged, apply(&a2, &after_b), "copies diverged");
    let ab2 = a.compose(&b2).expect("a' follows a");
    assert_eq!(apply(&ab2, text), converged);
}

fn document_of(len: usize, text: &str) -> String {
    let filler: Vec<char> = if text.is_empty() {
        vec!['x']
    } else {
        text.chars().collect()
    };
    filler.iter().cycle().take(len).collect()
}

fuzz_target!(|input: Input| {
    let text = &input.text;
    let len = chars(text);
    let a = op_for(len, &input.a);
    let b = op_for(len, &input.b);
    check_one(&a, text);
    check_pair(&a, &b, text);

    // From the wire: whatever decodes must be a consistent operation.
    let wire_a = postcard::from_bytes::<Operation>(&input.wire_a).ok();
    let wire_b = postcard::from_bytes::<Operation>(&input.wire_b).ok();
    if let Some(op) = &wire_a
        && op.base_len() <= LONGEST_DOCUMENT
        && op.target_len() <= 64 * LONGEST_DOCUMENT
    {
        let document = document_of(op.base_len(), text);
        check_one(op, &document);
        check_pair(op, &op_for(op.base_len(), &input.b), &document);
    }
    if let (Some(a), Some(b)) = (&wire_a, &wire_b)
        && a.base_len() == b.base_len()
    {
        // Transform must not panic whatever the lengths claim.
        let _ = Operation::transform(a, b);
        let _ = a.compose(b);
    }

    // The host sequences members' submissions, at any base revision.
    let mut host = AuthoritativeDocument::new(text, 0).with_history_limit(4);
    let mut texts = vec![text.clone()];
    for submission in input.submissions.iter().take(32) {
        let base = host
            .revision()
            .saturating_sub(u64::from(submission.behind % 8));
        let base_text = &texts[base as usize];
        let op = match &submission.op {
            Ok(recipe) => op_for(chars(base_text), recipe),
            Err(bytes) => match postcard::from_bytes::<Operation>(bytes) {
                Ok(op) => op,
                Err(_) => continue,
            },
        };
        let before = host.rope().to_string();
        let outcome = host.submit(Submission {
            id: EditId {
                instance: [submission.instance % 3; 16],
                seq: u64::from(submission.seq),
            },
            base_revision: base,
            op: op.clone(),
        });
        match outcome {
            Ok(SubmitOutcome::Applied(edit)) => {
                // What the host broadcasts turns its previous text into its new one.
                assert_eq!(edit.revision, host.revision());
                assert_eq!(apply(&edit.op, &before), host.rope().to_string());
                if base + 1 == host.revision() {
                    assert_eq!(
                        edit.op, op,
                        "an edit on the latest revision is taken as it is"
                    );
                }
                texts.push(host.rope().to_string());
            }
            Ok(SubmitOutcome::Duplicate { .. }) | Err(_) => {
                assert_eq!(
                    host.rope().to_string(),
                    before,
                    "a refused edit changed the text"
                );
            }
        }
        assert_eq!(texts.len() as u64, host.revision() + 1);
    }

    // A member's copy fed edits from the wire (a forged broadcast included).
    if let Ok(edits) = postcard::from_bytes::<Vec<RemoteEdit>>(&input.remote_edits) {
        let mut client = Client::new([1; 16], 0);
        let mut rope = Rope::from_str(text);
        if let Ok(Some(_)) = client.local_edit(a.clone()) {
            a.apply(&mut rope).expect("the lengths match");
        }
        for edit in edits.into_iter().take(16) {
            if let Ok(RemoteOutcome::Apply(op)) = client.on_remote(edit) {
                let before = rope.clone();
                if op.apply(&mut rope).is_err() {
                    assert_eq!(rope, before, "a refused edit changed the text");
                }
            }
        }
    }
});
