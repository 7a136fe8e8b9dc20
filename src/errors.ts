/** One error class with codes; the HTTP layer maps codes to statuses, the CLI prints the message. */
export type ErrorCode =
  | 'bad_parameter'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'undecodable_image'
  | 'request_timeout'
  | 'too_many_requests'
  | 'headers_too_large'
  | 'busy'
  | 'model_unavailable'
  | 'config_invalid'
  | 'fetch_refused'
  | 'fetch_failed'
  | 'internal';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  bad_parameter: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  undecodable_image: 422,
  request_timeout: 408,
  too_many_requests: 429,
  headers_too_large: 431,
  busy: 503,
  model_unavailable: 503,
  config_invalid: 500,
  fetch_refused: 400,
  fetch_failed: 422,
  internal: 500,
};

export class RaypackError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RaypackError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export function isRaypackError(error: unknown): error is RaypackError {
  return error instanceof RaypackError;
}
