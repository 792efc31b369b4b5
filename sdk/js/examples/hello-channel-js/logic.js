// The example's logic, with no host call, so that plain Node can test it
// (`node --test`).

/** The ticket a submission opens; throws an Error saying what is wrong. */
export function ticketFor(settings, text) {
  let submission;
  try {
    submission = JSON.parse(text);
  } catch (e) {
    throw new Error(`the body is not JSON: ${e.message}`);
  }
  if (submission === null || typeof submission !== 'object' || Array.isArray(submission)) {
    throw new Error('the body must be a JSON object');
  }
  const title = String(submission.title ?? '').trim();
  if (!title) throw new Error('title: must not be empty');
  const { name, email } = submission;
  const contact =
    name || email ? { name: name ? String(name) : undefined, emails: email ? [{ address: String(email), kind: 'other' }] : [], phones: [] } : undefined;
  return {
    title: (settings.title_prefix || '') + title,
    description: String(submission.description ?? ''),
    priority: undefined,
    contact,
    externalKey: undefined,
  };
}
