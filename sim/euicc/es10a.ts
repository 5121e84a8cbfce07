// ES10a functions of the ISD-R (SGP.22 5.7.3 GetEuiccConfiguredAddresses, 5.7.4
// SetDefaultDpAddress): the default SM-DP+ address and the root SM-DS address kept
// in the eUICC (2.4.4), persisted with the state. An empty defaultDpAddress removes
// the default address (5.7.4); the result is always ok (0): undefinedError (127) is
// never produced by this card.
import { encode } from '../rsp/der.ts';
import { EuiccConfiguredAddressesRequest, EuiccConfiguredAddressesResponse, SetDefaultDpAddressRequest, SetDefaultDpAddressResponse } from '../rsp/es10a.ts';
import { decodeRequest, type Es10Env } from './context.ts';

export function getEuiccConfiguredAddresses(env: Es10Env, command: Uint8Array): Uint8Array {
  decodeRequest(EuiccConfiguredAddressesRequest, command);
  const s = env.ctx.state;
  return encode(EuiccConfiguredAddressesResponse, {
    ...(s.defaultDpAddress ? { defaultDpAddress: s.defaultDpAddress } : {}),
    rootDsAddress: s.rootDsAddress,
  });
}

export function setDefaultDpAddress(env: Es10Env, command: Uint8Array): Uint8Array {
  const req = decodeRequest(SetDefaultDpAddressRequest, command);
  const s = env.ctx.state;
  if (req.defaultDpAddress === '') delete s.defaultDpAddress;
  else s.defaultDpAddress = req.defaultDpAddress;
  env.ctx.save();
  return encode(SetDefaultDpAddressResponse, { setDefaultDpAddressResult: 0 });
}
