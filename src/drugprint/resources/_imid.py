"""drugprint's own curated gene sets for IMiD/CELMoD biology, each with the literature it comes from.

Sets are written by hand from the cited papers. Where a set has anti-directional members (e.g. the
anti-apoptotic BCL-2 family in an apoptosis set), those carry weight -1 so that a positive score means
"the programme is switched on".
"""

from __future__ import annotations

IMID_VERSION = "2026.11"

#: name -> description, citation, genes (symbol -> weight)
IMID_SETS: dict[str, dict] = {
    "IMID_NEOSUBSTRATES": {
        "description": "CRBN neosubstrates degraded by thalidomide analogues (protein-level targets; their "
        "mRNA is not expected to fall)",
        "citation": "Krönke et al. 2014, Science 343:301; Lu et al. 2014, Science 343:305; Krönke et al. 2015, "
        "Nature 523:183; An et al. 2017, Nat Commun 8:15398; Donovan et al. 2018, eLife 7:e38430; "
        "Matyskiela et al. 2016, Nature 535:252; Sievers et al. 2018, Science 362:eaat0572; "
        "Yamanaka et al. 2021, EMBO J 40:e105375",
        "genes": ["IKZF1", "IKZF3", "CSNK1A1", "ZFP91", "SALL4", "GSPT1", "ZBTB16", "ZNF692", "ZNF827"],
    },
    "IMID_IRF4_MYC_AXIS": {
        "description": "IKZF1/IKZF3 loss in myeloma cells lowers IRF4 and MYC, the transcriptional "
        "dependency that IMiDs and CELMoDs break",
        "citation": "Lopez-Girona et al. 2012, Leukemia 26:2326; Krönke et al. 2014, Science 343:301; "
        "Bjorklund et al. 2015, Blood Cancer J 5:e354; Shaffer et al. 2008, Nature 454:226",
        "genes": ["IRF4", "MYC", "PRDM1", "XBP1", "CCND2", "SLAMF7"],
    },
    "IMID_TCELL_COSTIMULATION": {
        "description": "T-cell co-stimulation: IL2 and IFNG de-repressed when Ikaros/Aiolos are degraded",
        "citation": "Gandhi et al. 2014, Br J Haematol 164:811; LeBlanc et al. 2004, Blood 103:1787; "
        "Haslett et al. 1998, J Exp Med 187:1885",
        "genes": ["IL2", "IL2RA", "IFNG", "CD69", "TNFRSF9", "CD40LG"],
    },
    "IMID_CYTOTOXICITY": {
        "description": "Cytotoxic effector programme of NK and CD8 T cells",
        "citation": "Hayashi et al. 2005, Br J Haematol 128:192; Lagrue et al. 2015, Blood 126:50; "
        "Szabo et al. 2019, Nat Commun 10:4706",
        "genes": ["NKG7", "GZMB", "GZMA", "GZMH", "PRF1", "GNLY", "IFNG", "TNF"],
    },
    "IMID_CORE_ISG": {
        "description": "Core interferon-stimulated genes (type I IFN response)",
        "citation": "Schoggins et al. 2011, Nature 472:481; Hagner et al. 2015, Blood 126:779",
        "genes": [
            "ISG15",
            "IFI6",
            "IFI27",
            "IFI44L",
            "IFIT1",
            "IFIT2",
            "IFIT3",
            "MX1",
            "MX2",
            "OAS1",
            "OAS2",
            "OAS3",
            "OASL",
            "RSAD2",
            "IFITM1",
            "IFITM3",
            "XAF1",
            "STAT1",
            "IRF7",
            "CXCL10",
        ],
    },
    "IMID_P53_TARGETS": {
        "description": "Direct p53 target genes recurring across studies",
        "citation": "Fischer 2017, Oncogene 36:3943",
        "genes": [
            "CDKN1A",
            "MDM2",
            "BAX",
            "BBC3",
            "PMAIP1",
            "FAS",
            "TP53I3",
            "GADD45A",
            "SESN1",
            "SESN2",
            "RRM2B",
            "ZMAT3",
            "TNFRSF10B",
            "FDXR",
            "DDB2",
            "XPC",
            "TIGAR",
            "AEN",
            "RPS27L",
            "SPATA18",
        ],
    },
    "IMID_NFKB_TNF_TARGETS": {
        "description": "NF-κB target genes induced by TNF signalling",
        "citation": "Hayden & Ghosh 2008, Cell 132:344; Tian et al. 2005, J Biol Chem 280:17435",
        "genes": [
            "NFKBIA",
            "TNFAIP3",
            "NFKB1",
            "NFKB2",
            "RELB",
            "BIRC3",
            "TRAF1",
            "ICAM1",
            "CXCL8",
            "IL6",
            "IL1B",
            "TNF",
            "CCL2",
            "CCL20",
            "CD83",
            "BCL2A1",
            "NFKBIE",
            "TNIP1",
        ],
    },
    "IMID_APOPTOSIS": {
        "description": "Intrinsic and extrinsic apoptosis; anti-apoptotic BCL-2 family members weigh -1",
        "citation": "Singh, Letai & Sarosiek 2019, Nat Rev Mol Cell Biol 20:175",
        "genes": {
            "BAX": 1,
            "BAK1": 1,
            "BBC3": 1,
            "PMAIP1": 1,
            "BCL2L11": 1,
            "BID": 1,
            "CASP3": 1,
            "CASP7": 1,
            "CASP8": 1,
            "CASP9": 1,
            "APAF1": 1,
            "CYCS": 1,
            "FAS": 1,
            "TNFRSF10A": 1,
            "TNFRSF10B": 1,
            "BCL2": -1,
            "BCL2L1": -1,
            "MCL1": -1,
            "XIAP": -1,
            "BIRC5": -1,
        },
    },
    "IMID_PROLIFERATION": {
        "description": "Cell-cycle/proliferation genes (G1/S and G2/M)",
        "citation": "Whitfield et al. 2002, Mol Biol Cell 13:1977; Tirosh et al. 2016, Science 352:189",
        "genes": [
            "MKI67",
            "TOP2A",
            "CCNB1",
            "CCNB2",
            "CDK1",
            "CDC20",
            "PLK1",
            "AURKA",
            "AURKB",
            "BUB1",
            "MCM2",
            "MCM3",
            "MCM4",
            "MCM5",
            "MCM6",
            "MCM7",
            "PCNA",
            "TYMS",
            "E2F1",
            "CCNE1",
            "CCNA2",
            "RRM2",
            "UBE2C",
        ],
    },
}
