/**
 * The form fields of a request, validated against the endpoint's schema (src/http/schemas.ts): one validator for
 * multipart and urlencoded bodies alike, and every refusal names the parameter.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Lang } from '../detect/labels.ts';
import { RaypackError } from '../errors.ts';
import { parseHexColour, type FaceRender, type Rgb } from '../image/anonymize.ts';
import { RECOG_MODELS, type RecogModel } from '../raypack/wire.ts';
import { FACE_FORM_SCHEMA, RECOG_FORM_SCHEMA } from './schemas.ts';

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false });
const validateFace = ajv.compile(FACE_FORM_SCHEMA);
const validateRecog = ajv.compile(RECOG_FORM_SCHEMA);

/** The text form fields as sent; names are matched case-insensitively (the RAYPACK docs write `Mode`, `File`). */
export type FormFields = Readonly<Record<string, string>>;

export interface FaceParams {
  readonly threshold: number;
  /** `json` answers JSON, `image` a JPEG; `facemode=jsonimage` answers JSON with the image whatever the mode. */
  readonly mode: 'json' | 'image';
  readonly facemode: 'default' | 'pixel' | 'fill' | 'black' | 'jsonimage' | 'body';
  readonly colour: Rgb;
  /** A URL given as text in `imagef`/`file` (used when no file was uploaded). */
  readonly imageUrl?: string;
  /** Videos, JSON answers: frames analysed per second. */
  readonly fps?: number;
}

export interface RecogParams {
  readonly threshold: number;
  readonly model: RecogModel;
  readonly lang: Lang;
  readonly imageUrl?: string;
  /** Videos: frames analysed per second, and whether to add the per-second timeline. */
  readonly fps?: number;
  readonly timeline: boolean;
}

/** How each facemode is drawn. */
export const RENDER_BY_FACEMODE: Readonly<Record<FaceParams['facemode'], FaceRender>> = {
  default: 'outline',
  pixel: 'pixel',
  fill: 'fill',
  black: 'black',
  jsonimage: 'pixel',
  body: 'fill',
};

export function parseFaceParams(fields: FormFields): FaceParams {
  const v = validated(validateFace, fields);
  return {
    threshold: v.threshold as number,
    mode: v.mode === 'json' ? 'json' : 'image',
    facemode: v.facemode as FaceParams['facemode'],
    colour: parseHexColour(v.hex as string)!,
    imageUrl: (v.imagef ?? v.file) as string | undefined,
    ...(v.fps !== undefined ? { fps: v.fps as number } : {}),
  };
}

export function parseRecogParams(fields: FormFields): RecogParams {
  const v = validated(validateRecog, fields);
  return {
    threshold: v.threshold as number,
    model: RECOG_MODELS[v.model as string],
    lang: v.lang as Lang,
    imageUrl: (v.file ?? v.imagef) as string | undefined,
    ...(v.fps !== undefined ? { fps: v.fps as number } : {}),
    timeline: v.timeline === '1' || v.timeline === 'true',
  };
}

function validated(validate: ValidateFunction, fields: FormFields): Record<string, unknown> {
  // An empty field means "not given": let the default apply rather than coercing '' to 0.
  const data: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value.trim() !== '') data[name.toLowerCase()] = value.trim();
  }
  if (!validate(data)) throw parameterError(validate.errors?.[0]);
  return data;
}

function parameterError(error: ErrorObject | undefined): RaypackError {
  if (!error) return new RaypackError('bad_parameter', 'invalid parameters');
  const parameter =
    error.keyword === 'required' ? String(error.params.missingProperty) : error.instancePath.replace(/^\//, '') || 'body';
  let message: string;
  switch (error.keyword) {
    case 'required':
      message = `${parameter} is required`;
      break;
    case 'enum':
      message = `${parameter} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
      break;
    case 'pattern':
      message = `${parameter} must be a colour written RRGGBB, e.g. 00ff00`;
      break;
    case 'type':
    case 'minimum':
    case 'maximum':
      message = parameter === 'threshold' ? 'threshold must be a number from 0 to 1' : `${parameter} ${error.message ?? 'is invalid'}`;
      break;
    default:
      message = `${parameter} ${error.message ?? 'is invalid'}`;
  }
  return new RaypackError('bad_parameter', message, { parameter });
}
