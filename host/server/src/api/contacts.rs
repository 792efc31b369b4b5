//! `/api/contacts`: customers.

use crate::extract::{Path, Query};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::Contact;
use utoipa::{IntoParams, ToSchema};

use super::wire::{CompanyWire, EmailWire, PhoneWire};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::state::AppState;

/// A contact as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    /// The contact's id.
    pub id: u64,
    /// The person's name.
    pub name: String,
    /// E-mail addresses.
    pub emails: Vec<EmailWire>,
    /// Phone numbers.
    pub phones: Vec<PhoneWire>,
    /// The company.
    pub company: Option<CompanyWire>,
}

fn emails(list: &[switchboard_core::Email]) -> Vec<EmailWire> {
    list.iter().map(|e| EmailWire { address: e.address.clone(), kind: e.kind.into() }).collect()
}

fn phones(list: &[switchboard_core::Phone]) -> Vec<PhoneWire> {
    list.iter().map(|p| PhoneWire { number: p.number.clone(), kind: p.kind.into() }).collect()
}

impl From<&Contact> for ContactOut {
    fn from(c: &Contact) -> Self {
        ContactOut {
            id: c.id,
            name: c.name.clone(),
            emails: emails(&c.emails),
            phones: phones(&c.phones),
            company: c.company.as_ref().map(|co| CompanyWire {
                name: co.name.clone(),
                emails: emails(&co.emails),
                phones: phones(&co.phones),
            }),
        }
    }
}

/// How to find a contact.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindContact {
    /// An e-mail address the contact owns.
    pub email: Option<String>,
    /// A phone number the contact owns.
    pub phone: Option<String>,
}

/// Finds the contact that owns an e-mail address or phone number.
#[utoipa::path(get, path = "/contacts", tag = "contacts", params(FindContact),
    responses((status = 200, body = ContactOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn find_contact(State(state): State<AppState>, Query(q): Query<FindContact>) -> ApiResult<Json<ContactOut>> {
    if q.email.is_none() && q.phone.is_none() {
        return Err(ApiError::invalid("email", "give email or phone to search by"));
    }
    let found = state.stores.contacts.find_contact(q.email.as_deref(), q.phone.as_deref()).await?;
    let contact = found.ok_or_else(|| {
        let by = q.email.as_deref().or(q.phone.as_deref()).unwrap_or_default();
        ApiError::not_found(format!("no contact owns \"{by}\""))
    })?;
    Ok(Json((&contact).into()))
}

/// Shows one contact.
#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = u64, Path, description = "contact id")),
    responses((status = 200, body = ContactOut), (status = 404, body = ErrorBody)))]
pub async fn get_contact(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<ContactOut>> {
    let id = id.parse().map_err(|_| ApiError::not_found(format!("unknown contact \"{id}\"")))?;
    Ok(Json((&state.stores.contacts.contact(id).await?).into()))
}
