import { InvalidRequestError, SlowDownError } from '../../../src/index.js';
import { readForm, type PendingDeviceAuthorization, type ServerContext } from '../../../src/server/index.js';
import { escape, page, SIGN_IN_FIELDS } from './pages.js';

/**
 * The device flow's page (RFC 8628 §3.3), the `verification_uri` of the
 * demo: GET /device asks for the code a device shows (or takes it from
 * `?user_code=`, the `verification_uri_complete`), then shows what the
 * device asks for; POST /device approves or denies it. Wrong codes count
 * against the caller's IP (the server's brute-force limit); the approval is
 * single use. A real server signs the user in first and protects this form
 * against cross-site posts; the demo has no accounts, so the name typed is the user.
 */

const codeForm = (message = '', value = ''): Response =>
  page(
    'Connect a device',
    `<h1>Connect a device</h1>${message ? `<p>${escape(message)}</p>` : ''}
<form method="get" action="/device">
<label for="user_code">The code your device shows</label>
<input type="text" id="user_code" name="user_code" required maxlength="32" autocomplete="off" autocapitalize="characters" value="${escape(value)}" autofocus>
<button type="submit">Continue</button>
</form>`,
    message ? 400 : 200,
  );

function confirmPage(device: PendingDeviceAuthorization): Response {
  const scopes = device.scope.length ? device.scope.map((s) => `<span class="scope">${escape(s)}</span>`).join(' ') : 'no particular scope';
  return page(
    'Allow the device?',
    `<h1>Allow the device?</h1>
<p><strong>${escape(device.client.name ?? device.client.clientId)}</strong> on your device (code <strong>${escape(device.userCode)}</strong>) asks for: ${scopes}.</p>
<p class="note">Only continue if you started this on a device of yours just now.</p>
<form method="post" action="/device">
<input type="hidden" name="user_code" value="${escape(device.userCode)}">
${SIGN_IN_FIELDS}
</form>`,
  );
}

const done = (approved: boolean): Response =>
  page('Done', `<h1>${approved ? 'Device connected' : 'Request denied'}</h1><p>${approved ? 'You can return to your device.' : 'The device was not connected.'}</p>`);

function refused(error: unknown, value: string): Response {
  if (error instanceof SlowDownError) return codeForm('Too many wrong codes from here. Wait a few minutes, then try again.', value);
  if (error instanceof InvalidRequestError && (error.field === 'userCode' || error.field === 'scope')) return codeForm('That code is unknown, expired or already used.', value);
  throw error;
}

export async function devicePage(request: Request, context: ServerContext): Promise<Response> {
  if (request.method === 'GET') {
    const userCode = new URL(request.url).searchParams.get('user_code')?.trim() ?? '';
    if (!userCode) return codeForm();
    try {
      const device = await context.getDeviceAuthorization(userCode);
      if (!device || device.decided) return codeForm('That code is unknown, expired or already used.', userCode);
      return confirmPage(device);
    } catch (error) {
      return refused(error, userCode);
    }
  }
  const form = await readForm(request);
  const userCode = form.get('user_code') ?? '';
  const user = form.get('user')?.trim();
  const approved = form.get('decision') === 'approve';
  if (approved && (!user || user.length > 64)) return codeForm('Enter a user name of 1 to 64 characters.', userCode);
  try {
    if (approved && user) await context.approveDeviceAuthorization(userCode, { userId: user, props: { signedInAt: new Date().toISOString(), via: 'device' } });
    else await context.denyDeviceAuthorization(userCode);
    return done(approved);
  } catch (error) {
    return refused(error, userCode);
  }
}
