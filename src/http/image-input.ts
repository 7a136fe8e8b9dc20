/** Where a request's image comes from: the uploaded file, or the URL given in its place (fetched through the SSRF guard). */
import { RaypackError } from '../errors.ts';
import { redactUrl } from '../log.ts';
import type { UrlFetcher } from '../net/fetch-url.ts';
import type { Form } from './form.ts';

export interface ImageInput {
  readonly bytes: Buffer;
  /** The upload's file name or the URL (credentials removed), as RAYPACK echoes it in `originalfile`. */
  readonly originalName: string;
}

export async function imageInput(form: Form, url: string | undefined, fetcher: UrlFetcher, parameter: 'imagef' | 'file'): Promise<ImageInput> {
  if (form.file) return { bytes: form.file.bytes, originalName: form.file.filename };
  if (url === undefined) {
    throw new RaypackError('bad_parameter', `${parameter} is required: upload a file or give an http(s) URL`, { parameter });
  }
  if (!/^https?:\/\//i.test(url)) {
    throw new RaypackError('bad_parameter', `${parameter} must be an uploaded file or an http(s) URL`, { parameter });
  }
  let fetched;
  try {
    fetched = await fetcher.fetch(url);
  } catch (error) {
    // Name the parameter in 400s (refused or malformed URL) so the client knows which field to fix.
    if (error instanceof RaypackError && error.status === 400) {
      throw new RaypackError(error.code, `${parameter}: ${error.message}`, { parameter }, { cause: error });
    }
    throw error;
  }
  return { bytes: fetched.bytes, originalName: redactUrl(url) };
}
