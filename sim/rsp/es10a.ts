// ES10a (LPA -> ISD-R, SGP.22 5.7.3-5.7.4): GetEuiccConfiguredAddresses ('BF3C') and
// SetDefaultDpAddress ('BF3F'). Both are STORE DATA commands to the ISD-R; request and
// response share their top-level tag (see registry.ts for how `decode` tells them apart).
// All SEQUENCEs here have untagged components only, so they are automatically tagged.
import { implicit, type Infer, integer, opt, seq, utf8 } from './der.ts';

/** ES10a.GetEuiccConfiguredAddresses request (5.7.3): empty 'BF3C'. */
export const EuiccConfiguredAddressesRequest = implicit(0xbf3c, seq('EuiccConfiguredAddressesRequest', {}));
export type EuiccConfiguredAddressesRequest = Infer<typeof EuiccConfiguredAddressesRequest>;

/** ES10a.GetEuiccConfiguredAddresses response: 80 defaultDpAddress?, 81 rootDsAddress. */
export const EuiccConfiguredAddressesResponse = implicit(
  0xbf3c,
  seq('EuiccConfiguredAddressesResponse', {
    defaultDpAddress: opt(implicit(0, utf8())),
    rootDsAddress: implicit(1, utf8()),
  }),
);
export type EuiccConfiguredAddressesResponse = Infer<typeof EuiccConfiguredAddressesResponse>;

/** ES10a.SetDefaultDpAddress request (5.7.4): 80 defaultDpAddress. */
export const SetDefaultDpAddressRequest = implicit(0xbf3f, seq('SetDefaultDpAddressRequest', { defaultDpAddress: implicit(0, utf8()) }));
export type SetDefaultDpAddressRequest = Infer<typeof SetDefaultDpAddressRequest>;

/** ES10a.SetDefaultDpAddress response: 80 setDefaultDpAddressResult {ok(0), undefinedError(127)}. */
export const SetDefaultDpAddressResponse = implicit(
  0xbf3f,
  seq('SetDefaultDpAddressResponse', { setDefaultDpAddressResult: implicit(0, integer()) }),
);
export type SetDefaultDpAddressResponse = Infer<typeof SetDefaultDpAddressResponse>;
