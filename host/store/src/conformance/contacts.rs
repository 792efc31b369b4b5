//! Contacts: found by any address or number, never duplicated.

use switchboard_core::{Author, ContactDraft, Phone, PointKind, Priority};

use super::{Harness, at, draft, durable, email, with_team};

/// Tickets from the same address share a contact, which learns new
/// numbers; a bad address is refused.
pub async fn contacts_are_found_by_email_or_phone_and_never_duplicated<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let first = ContactDraft { name: Some("Ann Lee".into()), ..email("Ann@Example.com") };
    let a =
        durable(store.create_ticket("ops", draft("a", Priority::Low), Some(first), Author::System, at(0), None).await)
            .await;
    let second = ContactDraft {
        phones: vec![Phone { number: "+1 555 0100 200".into(), kind: PointKind::Mobile }],
        ..email("ann@example.COM ")
    };
    let b =
        durable(store.create_ticket("ops", draft("b", Priority::Low), Some(second), Author::System, at(1), None).await)
            .await;
    assert_eq!(a.contact, b.contact, "same e-mail, same contact");
    let by_phone = store.find_contact(None, Some("+1-555-0100-200")).await.expect("find").expect("found");
    assert_eq!(Some(by_phone.id), a.contact);
    assert_eq!(by_phone.name, "Ann Lee");
    assert_eq!(by_phone.phones.len(), 1, "the new phone was added");
    assert_eq!(store.contact(by_phone.id).await.expect("contact"), by_phone);

    let other = durable(store.upsert_contact(email("bob@example.com"), at(2)).await).await;
    assert_ne!(Some(other.id), a.contact);
    assert!(store.upsert_contact(email("not-an-address"), at(2)).await.is_err());
    assert_eq!(store.find_contact(Some("nobody@example.com"), None).await.expect("find"), None);
}
