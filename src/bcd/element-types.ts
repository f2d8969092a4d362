// BCD element type codes and the names `bcdedit /enum` prints for them (docs/bcd.md §4 and §6).
// Element type = Class(31..28) | Format(27..24) | SubType(23..0) (bcd.md §4 [C]). Class-2 names depend on the
// ApplicationCode of the object holding the element (bcd.md §4: 0x21000001 is `osdevice` in a loader but
// `filedevice` in a resume object), so lookups take that code.

/** Element classes (bcd.md §4 [C]). */
export const BCD_ELEMENT_CLASS = {
  LIBRARY: 1,
  APPLICATION: 2,
  DEVICE: 3,
  TEMPLATE: 4,
  OEM: 5,
} as const;

/** Element value formats, bits 27..24 of the type (bcd.md §4 table [C]). */
export const BCD_FORMAT = {
  DEVICE: 1,
  STRING: 2,
  OBJECT: 3,
  OBJECT_LIST: 4,
  INTEGER: 5,
  BOOLEAN: 6,
  INTEGER_LIST: 7,
} as const;

export type BcdFormatName =
  | 'device'
  | 'string'
  | 'object'
  | 'objectList'
  | 'integer'
  | 'boolean'
  | 'integerList'
  | 'unknown';

const FORMAT_NAMES: Record<number, BcdFormatName> = {
  1: 'device',
  2: 'string',
  3: 'object',
  4: 'objectList',
  5: 'integer',
  6: 'boolean',
  7: 'integerList',
};

export const elementClass = (type: number): number => (type >>> 28) & 0xf;
export const elementFormatCode = (type: number): number => (type >>> 24) & 0xf;
export const elementFormat = (type: number): BcdFormatName =>
  FORMAT_NAMES[elementFormatCode(type)] ?? 'unknown';

/** ApplicationCodes (bcd.md §3 [C]) that select a class-2 name table. */
export const BCD_APPLICATION = {
  FWBOOTMGR: 1,
  BOOTMGR: 2,
  OSLOADER: 3,
  RESUME: 4,
  MEMDIAG: 5,
  NTLDR: 6,
  SETUPLDR: 7,
  BOOTSECTOR: 8,
  STARTUP: 9,
} as const;

/** Library elements, valid in every object (bcd.md §6.1). [?] rows follow the doc's chosen name. */
const LIBRARY: Record<number, string> = {
  285212673: 'device',
  301989890: 'path',
  301989892: 'description',
  301989893: 'locale',
  335544326: 'inherit',
  352321543: 'truncatememory',
  335544328: 'recoverysequence',
  369098761: 'recoveryenabled',
  385875978: 'badmemorylist',
  369098763: 'badmemoryaccess',
  352321548: 'firstmegabytepolicy',
  352321549: 'relocatephysical',
  352321550: 'avoidlowmemory',
  369098767: 'traditionalkseg',
  369098768: 'bootdebug',
  352321553: 'debugtype',
  352321554: 'debugaddress',
  352321555: 'debugport',
  352321556: 'baudrate',
  352321557: 'channel',
  301989910: 'targetname',
  369098775: 'noumex',
  352321560: 'debugstart',
  301989913: 'busparams',
  352321562: 'hostip',
  352321563: 'port',
  369098780: 'dhcp',
  301989917: 'key',
  369098782: 'vm',
  301989919: 'hostipv6',
  369098784: 'bootems',
  352321570: 'emsport',
  352321571: 'emsbaudrate',
  301989936: 'loadoptions',
  // 0x16000031 attemptnonbcdstart: [?] (Visus: no name) — left to custom:16000031.
  369098816: 'advancedoptions',
  369098817: 'optionsedit',
  352321602: 'keyringaddress',
  285212739: 'bootstatdevice',
  301989956: 'bootstatfilepath',
  369098821: 'preservebootstat',
  369098822: 'graphicsmodedisabled',
  352321607: 'configaccesspolicy',
  369098824: 'nointegritychecks',
  369098825: 'testsigning',
  301989962: 'fontpath',
  352321611: 'integrityservices',
  352321612: 'volumebandid',
  369098832: 'extendedinput',
  352321617: 'initialconsoleinput',
  352321618: 'graphicsresolution',
  369098835: 'restartonfailure',
  369098836: 'highestmode',
  369098848: 'isolatedcontext',
  352321637: 'displaymessage',
  352321638: 'displaymessageoverride',
  // 0x16000067: [?] bcd.md §6.1 — bcdedit prints custom:16000067 in a public listing.
  369098856: 'nobootuxtext',
  369098857: 'nobootuxprogress',
  369098858: 'nobootuxfade',
  369098860: 'bootuxdisabled',
  369098866: 'nokeyboard',
  369098868: 'bootshutdowndisabled',
  385876087: 'allowedinmemorysettings',
  352321657: 'bootuxtransitiontime',
  369098874: 'mobilegraphics',
  369098875: 'forcefipscrypto',
  352321661: 'booterrorux',
  369098878: 'flightsigning',
  352321663: 'measuredbootlogformat',
  352321664: 'displayrotation',
  352321665: 'logcontrol',
  369098882: 'nofirmwaresync',
  285212804: 'windowssyspart',
  369098887: 'numlock',
  301990024: 'additionalcipolicy',
  352321672: 'linearaddress57',
};

/** Boot manager (and {fwbootmgr}) class-2 elements (bcd.md §6.2). */
const BOOTMGR: Record<number, string> = {
  603979777: 'displayorder',
  603979778: 'bootsequence',
  587202563: 'default',
  620756996: 'timeout',
  637534213: 'resume',
  587202566: 'resumeobject',
  603979783: 'startupsequence',
  603979792: 'toolsdisplayorder',
  637534240: 'displaybootmenu',
  637534241: 'noerrordisplay',
  553648162: 'bcddevice',
  570425379: 'bcdfilepath',
  637534245: 'hiberboot',
  637534248: 'processcustomactionsfirst',
  654311472: 'customactions',
  637534257: 'persistbootsequence',
  637534258: 'skipstartupsequence',
  570425408: 'fverecoveryurl', // [I] bcd.md §6.2
  570425409: 'fverecoverymessage', // [I]
  637534274: 'flightedbootmgr', // [I]
};

/** OS loader class-2 elements (bcd.md §6.3, including the "further loader elements" list). */
const OSLOADER: Record<number, string> = {
  553648129: 'osdevice',
  570425346: 'systemroot',
  587202563: 'resumeobject',
  637534212: 'stampdisks',
  637534224: 'detecthal',
  570425361: 'kernel',
  570425362: 'hal',
  570425363: 'dbgtransport',
  620757024: 'nx',
  620757025: 'pae',
  637534242: 'winpe',
  637534244: 'nocrashautoreboot',
  637534245: 'lastknowngood',
  637534246: 'oslnointegritychecks',
  637534247: 'osltestsigning',
  637534256: 'nolowmem',
  620757041: 'removememory',
  620757042: 'increaseuserva',
  620757043: 'perfmem',
  637534272: 'vga',
  637534273: 'quietboot',
  637534274: 'novesa',
  637534275: 'novga',
  620757072: 'clustermodeaddressing',
  637534289: 'usephysicaldestination',
  620757074: 'restrictapiccluster',
  570425427: 'evstore',
  637534292: 'uselegacyapicmode',
  620757077: 'x2apicpolicy',
  637534304: 'onecpu',
  620757089: 'numproc',
  637534306: 'maxproc',
  620757091: 'configflags',
  637534308: 'maxgroup',
  637534309: 'groupaware',
  620757094: 'groupsize',
  637534320: 'usefirmwarepcisettings',
  620757105: 'msi',
  620757106: 'pciexpress',
  620757120: 'safeboot',
  637534337: 'safebootalternateshell',
  637534352: 'bootlog',
  637534353: 'sos',
  637534368: 'debug',
  637534369: 'halbreakpoint',
  637534370: 'useplatformclock',
  637534371: 'forcelegacyplatform',
  637534372: 'useplatformtick',
  637534373: 'disabledynamictick',
  620757158: 'tscsyncpolicy',
  637534384: 'ems',
  620757185: 'driverloadfailurepolicy',
  620757186: 'bootmenupolicy',
  637534403: 'onetimeadvancedoptions',
  637534404: 'onetimeoptionsedit',
  620757216: 'bootstatuspolicy',
  637534433: 'disableelamdrivers',
  620757232: 'hypervisorlaunchtype',
  570425585: 'hypervisorpath',
  637534450: 'hypervisordebug',
  620757235: 'hypervisordebugtype',
  620757236: 'hypervisordebugport',
  620757237: 'hypervisorbaudrate',
  620757238: 'hypervisorchannel',
  620757239: 'bootux',
  637534456: 'hypervisordisableslat',
  570425593: 'hypervisorbusparams',
  620757242: 'hypervisornumproc',
  620757243: 'hypervisorrootprocpernode',
  637534460: 'hypervisoruselargevtlb',
  620757245: 'hypervisorhostip',
  620757246: 'hypervisorhostport',
  620757247: 'hypervisordebugpages',
  620757248: 'tpmbootentropy',
  570425616: 'hypervisorusekey',
  620757267: 'hypervisorrootproc',
  637534484: 'hypervisordhcp',
  620757269: 'hypervisoriommupolicy',
  637534486: 'hypervisorusevapic',
  570425623: 'hypervisorloadoptions',
  620757272: 'hypervisormsrfilterpolicy',
  620757273: 'hypervisormmionxpolicy',
  620757274: 'hypervisorschedulertype',
  570425627: 'hypervisorrootprocnumanodes',
  620757276: 'hypervisorperfmon',
  620757277: 'hypervisorrootprocpercore',
  570425630: 'hypervisorrootprocnumanodelps',
  620757280: 'xsavepolicy',
  620757281: 'xsaveaddfeature0',
  620757282: 'xsaveaddfeature1',
  620757283: 'xsaveaddfeature2',
  620757284: 'xsaveaddfeature3',
  620757285: 'xsaveaddfeature4',
  620757286: 'xsaveaddfeature5',
  620757287: 'xsaveaddfeature6',
  620757288: 'xsaveaddfeature7',
  620757289: 'xsaveremovefeature',
  620757290: 'xsaveprocessorsmask',
  620757291: 'xsavedisable',
  620757292: 'kerneldebugtype',
  570425645: 'kernelbusparams',
  620757294: 'kerneldebugaddress',
  620757295: 'kerneldebugport',
  620757296: 'claimedtpmcounter',
  620757297: 'kernelchannel',
  570425650: 'kerneltargetname',
  620757299: 'kernelhostip',
  620757300: 'kernelport',
  637534517: 'kerneldhcp',
  570425654: 'kernelkey',
  570425655: 'imchivename',
  553648440: 'imcdevice',
  620757305: 'kernelbaudrate',
  570425664: 'mfgmode',
  637534529: 'event',
  620757314: 'vsmlaunchtype',
  620757316: 'hypervisorenforcedcodeintegrity',
  637534533: 'dtrace',
  553648464: 'systemdatadevice',
  553648465: 'osarcdevice',
  553648467: 'osdatadevice',
  553648468: 'bspdevice',
  553648469: 'bspfilepath',
  570425686: 'kernelhostipv6',
  570425697: 'hypervisorhostipv6',
};

/** Resume application class-2 elements (bcd.md §6.4). 0x21000026 has no name: custom:21000026 [C]. */
const RESUME: Record<number, string> = {
  553648129: 'filedevice',
  570425346: 'filepath',
  637534211: 'customsettings',
  637534212: 'pae',
  553648133: 'associatedosdevice',
  637534214: 'debugoptionenabled',
  620756999: 'bootux',
  620757000: 'bootmenupolicy',
};

/** Memory tester class-2 elements (bcd.md §6.5 [I]; Windows 8+ meanings where versions differ). */
const MEMDIAG: Record<number, string> = {
  620756993: 'passcount',
  620756994: 'testmix',
  620756995: 'failurecount',
  620756996: 'testtofail',
  637534211: 'cacheenable',
  637534212: 'failuresenabled',
  637534213: 'cacheenable',
  620756997: 'stridefailcount',
  620756998: 'invcfailcount',
  620756999: 'matsfailcount',
  620757000: 'randfailcount',
  620757001: 'chckrfailcount',
};

/** Legacy loader and startup module class-2 elements (bcd.md §6.7 [I]). */
const NTLDR: Record<number, string> = { 570425345: 'bpbstring' };
const STARTUP: Record<number, string> = { 637534209: 'pxesoftreboot', 570425346: 'applicationname' };

/** Device-object elements (bcd.md §6.6). */
const DEVICE: Record<number, string> = {
  889192449: 'ramdiskimageoffset',
  889192450: 'ramdisktftpclientport',
  822083587: 'ramdisksdidevice',
  838860804: 'ramdisksdipath',
  889192453: 'ramdiskimagelength',
  905969670: 'exportascd',
  889192455: 'ramdisktftpblocksize',
  889192456: 'ramdisktftpwindowsize',
  905969673: 'ramdiskmcenabled',
  905969674: 'ramdiskmctftpfallback',
  905969675: 'ramdisktftpvarwindow',
  905969676: 'vhdramdiskboot', // [I]
};

/** Setup-template elements: bcdedit names only 0x47000006 (bcd.md §6.7 [C]); the rest print as custom:. */
const TEMPLATE: Record<number, string> = { 1191182342: 'elementstomigrate' };

const APPLICATION_TABLES: Record<number, Record<number, string>> = {
  [BCD_APPLICATION.FWBOOTMGR]: BOOTMGR,
  [BCD_APPLICATION.BOOTMGR]: BOOTMGR,
  [BCD_APPLICATION.OSLOADER]: OSLOADER,
  [BCD_APPLICATION.RESUME]: RESUME,
  [BCD_APPLICATION.MEMDIAG]: MEMDIAG,
  [BCD_APPLICATION.NTLDR]: NTLDR,
  [BCD_APPLICATION.STARTUP]: STARTUP,
};

/**
 * bcdedit's name for an element, or null when bcdedit prints it as `custom:<type in hex>` (bcd.md §6.8).
 * `applicationCode` is the ApplicationCode of the object (for an inherit object of class 2, its low 20 bits:
 * bcd.md §4), or null when class-2 elements have no table in that object.
 */
export function elementName(type: number, applicationCode: number | null): string | null {
  switch (elementClass(type)) {
    case BCD_ELEMENT_CLASS.LIBRARY:
      return LIBRARY[type] ?? null;
    case BCD_ELEMENT_CLASS.APPLICATION: {
      const table = applicationCode === null ? undefined : APPLICATION_TABLES[applicationCode];
      return table?.[type] ?? null;
    }
    case BCD_ELEMENT_CLASS.DEVICE:
      return DEVICE[type] ?? null;
    case BCD_ELEMENT_CLASS.TEMPLATE:
      return TEMPLATE[type] ?? null;
    default:
      return null;
  }
}

/** `custom:` + the type in 8 lower-case hex digits, as bcdedit prints unnamed elements (bcd.md §6.8 [I] case). */
export const customElementName = (type: number): string => `custom:${hex8(type)}`;

export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/**
 * Enumerated integer values bcdedit prints by name (bcd.md §4.1), keyed by the element's bcdedit name (the name
 * already encodes the object kind: `bootux` is 0x250000f7 in a loader and 0x25000007 in a resume object).
 * Values not listed print in decimal.
 */
const DISPLAY_MESSAGE = [
  'Default',
  'Resume',
  'HyperV',
  'Recovery',
  'StartupRepair',
  'SystemImageRecovery',
  'CommandPrompt',
  'SystemRestore',
  'PushButtonReset',
] as const;

export const ELEMENT_ENUMS: Readonly<Record<string, readonly (string | undefined)[]>> = {
  nx: ['OptIn', 'OptOut', 'AlwaysOff', 'AlwaysOn'],
  pae: ['Default', 'ForceEnable', 'ForceDisable'],
  debugtype: ['Serial', '1394', 'USB', 'NET', 'Local'],
  debugstart: ['Active', 'AutoEnable', 'Disable'],
  firstmegabytepolicy: ['UseNone', 'UseAll', 'UsePrivate'],
  configaccesspolicy: ['Default', 'DisallowMmConfig'],
  integrityservices: ['Default', 'Enable', 'Disable'],
  graphicsresolution: ['1024x768', '800x600', '1024x600'],
  displaymessage: DISPLAY_MESSAGE,
  displaymessageoverride: DISPLAY_MESSAGE,
  bootmenupolicy: ['Legacy', 'Standard'],
  bootstatuspolicy: [
    'DisplayAllFailures',
    'IgnoreAllFailures',
    'IgnoreShutdownFailures',
    'IgnoreBootFailures',
    'IgnoreCheckpointFailures',
    'DisplayShutdownFailures',
    'DisplayBootFailures',
    'DisplayCheckpointFailures',
    'AlwaysDisplayStartupFailures',
  ],
  hypervisorlaunchtype: ['Off', 'Auto'],
  bootux: ['Disabled', 'Basic', 'Standard'],
  safeboot: ['Minimal', 'Network', 'DsRepair'],
  // 0 Serial [C] (known-answers.md §1); 1 and 3 [?] (bcd.md §4.1); 2 has no known name.
  hypervisordebugtype: ['Serial', '1394', undefined, 'NET'],
  x2apicpolicy: ['Default', 'Disable', 'Enable'],
  tscsyncpolicy: ['Default', 'Legacy', 'Enhanced'],
  msi: ['Default', 'ForceDisable'],
  pciexpress: ['Default', 'ForceDisable'],
  driverloadfailurepolicy: ['Fatal', 'UseErrorControl'],
  tpmbootentropy: ['Default', 'ForceDisable', 'ForceEnable'],
  hypervisoriommupolicy: ['Default', 'Enable', 'Disable'],
  vsmlaunchtype: ['Off', 'Auto'],
  booterrorux: ['Legacy', 'Standard', 'Simple'],
  linearaddress57: ['Default', 'OptOut', 'OptIn'],
  testmix: ['Basic', 'Extended'],
  hypervisorschedulertype: ['Classic', 'Core', 'Root'],
  hypervisorenforcedcodeintegrity: ['Disable', 'Enable', 'Strict'],
};

/**
 * Integer elements bcdedit prints as a dotted IPv4 address (bcd.md §4.1: `hostip` [C]; the hypervisor and kernel
 * twins [I]). Byte order inside the u64 is [?]: we print the low four bytes in stored order (an in_addr in
 * network order, as Windows keeps IPv4 addresses).
 */
export const IPV4_ELEMENTS: ReadonlySet<string> = new Set(['hostip', 'hypervisorhostip', 'kernelhostip']);
