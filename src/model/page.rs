//! One page of a list paged by cursor.

use serde::{Deserialize, Serialize};

/// One page of a list paged by cursor: a page's address names the item it
/// continues from (`?after=` or `?before=`), so that items added meanwhile
/// never shift a page or show twice.
///
/// `C` is the cursor: the public id of a key, the id of an alert, the email
/// of a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// The page's items, at most 50, in the list's order.
    pub items: Vec<T>,
    /// How many items the whole list holds (with its filters).
    pub total: usize,
    /// The position of the page's first item in the list, from 1 (0 when
    /// the page is empty).
    pub first: usize,
    /// The cursor of the next page (`?after=`): this page's last item,
    /// when more follow.
    pub next_after: Option<C>,
    /// The cursor of the previous page (`?before=`): this page's first
    /// item, when some come before it.
    pub previous_before: Option<C>,
}
