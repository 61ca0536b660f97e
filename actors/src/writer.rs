//! The message writer: every accepted message passes through here. One task takes whatever sends
//! are waiting (up to a batch), stores them in one transaction (seq + idempotency), routes each
//! fresh one in acceptance order, and only then answers the senders — so an answer means the
//! message is durable (and, being in history above its recipients' delivered positions, in the
//! offline backlog of every recipient not reached live), and per-conversation order on every
//! device is the order of acceptance.

use chatd_schema::models::{MessageRow, NewMessage};
use chatd_schema::{Store, StoreError, StoredMessage, UserId};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::delivery::{Delivery, Target};
use crate::error::ActorsError;
use crate::group::{FanoutItem, GroupRef};
use crate::wire::message::message_json;
use crate::wire::push::Push;

/// Where a stored message goes.
#[derive(Debug, Clone)]
pub enum Route {
    Targets(Vec<Target>),
    /// Through the group's actor, which holds the member list.
    Group {
        group: GroupRef,
        sender: UserId,
        sender_sid: Option<Arc<str>>,
        /// Members who blacklisted the sender.
        exclude: Vec<UserId>,
        /// Non-members who get it too.
        also: Vec<UserId>,
    },
}

/// A stored message as the sender's answer.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub row: MessageRow,
    pub message: Value,
    /// False when this repeated an earlier `client_msg_id` (nothing was delivered again).
    pub fresh: bool,
}

struct Job {
    route: Route,
    reply: oneshot::Sender<Result<Accepted, ActorsError>>,
}

/// What the writer is asked, in order. Nearly every command is a message, so the channel's slots
/// are message-sized either way; boxing the message would cost an allocation per send for the
/// sake of the rare `Settle`.
#[allow(clippy::large_enum_variant)]
enum Cmd {
    Send(NewMessage, Job),
    /// Answered once everything enqueued before is stored, routed and answered.
    Settle(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Cmd>,
}

const BATCH: usize = 256;

impl Writer {
    pub fn spawn(store: Store, delivery: Delivery, clock: Clock) -> Writer {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(run(rx, store, delivery, clock));
        Writer { tx }
    }

    /// Stores `msg`, routes it, and returns it once durable.
    pub async fn submit(&self, msg: NewMessage, route: Route) -> Result<Accepted, ActorsError> {
        self.enqueue(msg, route).await?.await_answer().await
    }

    /// Takes `msg` in (its place in acceptance order is fixed when this returns) and gives back
    /// the answer to await later: a socket can accept its next frame while this one is stored,
    /// so a burst from one client is stored in one batch and fanned out back to back.
    pub async fn enqueue(&self, mut msg: NewMessage, route: Route) -> Result<Pending, ActorsError> {
        address(&mut msg, &route);
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Cmd::Send(msg, Job { route, reply }))
            .await
            .map_err(|_| ActorsError::WriterGone)?;
        Ok(Pending(answer))
    }

    /// Returns once every message enqueued before is stored, routed and answered (shutdown).
    pub async fn settle(&self) {
        let (done, settled) = oneshot::channel();
        if self.tx.send(Cmd::Settle(done)).await.is_ok() {
            let _ = settled.await;
        }
    }
}

/// Records who a message is for beyond its conversation's participants, so that its offline
/// backlog matches its live delivery: a group message routed to named users only is private to
/// them; one routed to the members and `also` some non-members names those.
fn address(msg: &mut NewMessage, route: &Route) {
    let sender = msg.from_id;
    match route {
        Route::Group { also, .. } => {
            msg.audience = also.iter().copied().filter(|u| *u != sender).collect();
            msg.private = false;
        }
        Route::Targets(targets) if msg.chat_type == "group" => {
            msg.audience = targets
                .iter()
                .map(|t| t.user_id)
                .filter(|u| *u != sender)
                .collect();
            msg.private = true;
        }
        Route::Targets(_) => {}
    }
}

/// The answer to an enqueued message: resolves once it is durable and routed.
pub struct Pending(oneshot::Receiver<Result<Accepted, ActorsError>>);

impl Pending {
    pub async fn await_answer(self) -> Result<Accepted, ActorsError> {
        self.0.await.map_err(|_| ActorsError::WriterGone)?
    }
}

async fn store_batch(store: &Store, msgs: &[NewMessage]) -> Vec<Result<StoredMessage, StoreError>> {
    match store.insert_messages(msgs).await {
        Ok(stored) => stored.into_iter().map(Ok).collect(),
        Err(e) if msgs.len() == 1 => vec![Err(e)],
        Err(_) => {
            // One bad message must not fail its neighbours: retry each on its own.
            let mut out = Vec::with_capacity(msgs.len());
            for m in msgs {
                out.push(match store.insert_messages(std::slice::from_ref(m)).await {
                    Ok(v) => v
                        .into_iter()
                        .next()
                        .ok_or_else(|| StoreError::Pool("empty insert result".into())),
                    Err(e) => Err(e),
                });
            }
            out
        }
    }
}

async fn run(mut rx: mpsc::Receiver<Cmd>, store: Store, delivery: Delivery, clock: Clock) {
    let mut buf = Vec::with_capacity(BATCH);
    let mut msgs = Vec::with_capacity(BATCH);
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut buf, BATCH).await > 0 {
        for cmd in buf.drain(..) {
            match cmd {
                Cmd::Send(msg, job) => {
                    msgs.push(msg);
                    jobs.push(job);
                }
                Cmd::Settle(done) => {
                    write_batch(&store, &delivery, &clock, &mut msgs, &mut jobs).await;
                    let _ = done.send(());
                }
            }
        }
        write_batch(&store, &delivery, &clock, &mut msgs, &mut jobs).await;
    }
}

/// Stores, routes and answers one batch (emptying `msgs` and `jobs`).
async fn write_batch(
    store: &Store,
    delivery: &Delivery,
    clock: &Clock,
    msgs: &mut Vec<NewMessage>,
    jobs: &mut Vec<Job>,
) {
    if msgs.is_empty() {
        return;
    }
    {
        let started = std::time::Instant::now();
        let results = store_batch(store, msgs).await;
        crate::metrics::write_batch(msgs.len(), started.elapsed().as_secs_f64());
        msgs.clear();
        let now = clock.now_ms();
        let mut replies = Vec::with_capacity(jobs.len());
        let mut fanouts: Vec<(GroupRef, Vec<FanoutItem>)> = Vec::new();
        for (Job { route, reply }, res) in jobs.drain(..).zip(results) {
            let answer = match res {
                Ok(stored) => {
                    let message = message_json(&stored.row);
                    if stored.fresh {
                        let out = Arc::new(
                            Push::message(&message, now)
                                .at(Arc::from(stored.row.conv_key.as_str()), stored.row.seq),
                        );
                        match route {
                            Route::Targets(targets) => delivery.route(&targets, &out),
                            Route::Group {
                                group,
                                sender,
                                sender_sid,
                                exclude,
                                also,
                            } => {
                                let item = FanoutItem {
                                    out,
                                    sender,
                                    sender_sid,
                                    exclude,
                                    also,
                                };
                                // One fan-out per group per batch, its messages in order.
                                match fanouts.iter_mut().find(|(g, _)| g.same(&group)) {
                                    Some((_, items)) => items.push(item),
                                    None => fanouts.push((group, vec![item])),
                                }
                            }
                        }
                    }
                    Ok(Accepted {
                        row: stored.row,
                        message,
                        fresh: stored.fresh,
                    })
                }
                Err(e) => {
                    tracing::error!(error = %e, "storing a message failed");
                    Err(ActorsError::Store(e))
                }
            };
            replies.push((reply, answer));
        }
        // Group actors take fan-outs in acceptance order; waiting here while a group is far
        // behind keeps that order and bounds what it holds.
        for (group, items) in fanouts {
            group.fan_out(items).await;
        }
        for (reply, answer) in replies {
            let _ = reply.send(answer);
        }
    }
}
